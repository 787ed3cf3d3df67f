package form

import (
	"errors"
	"io"
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
)

// ClientImport is the form of /clients/import: one file input, "file",
// sent as multipart/form-data. File is that part of the body as it
// arrives: the form never holds the file whole.
type ClientImport struct {
	File io.Reader
}

// NewClientImport finds the file part of r's multipart body. A form sent
// without a file chosen is refused by the field "file"; a body that is not
// such a form, or ends early, is an error.
func NewClientImport(r *http.Request) (ClientImport, Errors, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return ClientImport{}, nil, err
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return ClientImport{}, Errors{"file": "error.import_no_file"}, nil
		}
		if err != nil {
			return ClientImport{}, nil, err
		}
		if p.FormName() != "file" {
			continue
		}
		if p.FileName() == "" {
			return ClientImport{}, Errors{"file": "error.import_no_file"}, nil
		}
		return ClientImport{File: p}, nil, nil
	}
}

// Command is the command POST /api/v1/clients/import sends.
func (f ClientImport) Command(owner uuid.UUID) commands.ImportClients {
	return commands.ImportClients{Owner: owner, CSV: f.File}
}
