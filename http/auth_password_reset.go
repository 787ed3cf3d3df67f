package http

import (
	"net/http"
)

type passwordResetRequest struct {
	Email string `json:"email" validate:"required,max=254"`
}

// requestPasswordReset answers 202 whether or not the email has an account
// (before it is looked up), or 429 while the caller or the email is throttled.
func (id *Identity) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	var req passwordResetRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	if err := id.svc.RequestPasswordReset(r.Context(), commandMeta(r), req.Email, clientAddr(r)); err != nil {
		respondError(w, r, throttled(err))
		return
	}
	respond(w, r, http.StatusAccepted, map[string]string{"status": "if the email has an account, a reset token was mailed to it"})
}

type passwordResetConfirmRequest struct {
	Token    string `json:"token" validate:"required,max=128"`
	Password string `json:"password" validate:"required,min=8,max=128"`
}

func (id *Identity) confirmPasswordReset(w http.ResponseWriter, r *http.Request) {
	var req passwordResetConfirmRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	a, res, err := id.svc.ConfirmPasswordReset(r.Context(), commandMeta(r), req.Token, req.Password)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondCommand(w, r, http.StatusOK, res, a)
}
