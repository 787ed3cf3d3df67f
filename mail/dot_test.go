package mail

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"net/textproto"
	"testing"
)

// The fast dotWriter writes exactly what textproto's DotWriter writes, for
// any input split into any pieces.
func TestDotWriterMatchesTextproto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(".\r\nab")
	inputs := [][]byte{nil, []byte("."), []byte("\r\n.\r\n"), []byte(".a\n.b\r\n..c\rd\r\r\ne"), []byte("no newline at end")}
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		var want, got, raw bytes.Buffer
		tw := textproto.NewWriter(bufio.NewWriter(&want)).DotWriter()
		fw := &dotWriter{w: &got}
		rw := &dotWriter{w: &raw, raw: true}
		for rest := in; len(rest) > 0; {
			k := 1 + rng.IntN(len(rest))
			if _, err := tw.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			if _, err := fw.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			if _, err := rw.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			t.Fatalf("input %q: textproto wrote %q, dotWriter %q", in, want.Bytes(), got.Bytes())
		}
		// The raw form is what BDAT sends; stuffed, it is the DATA form (a
		// message is never empty: it has a header).
		_ = rw.Close()
		if len(in) == 0 {
			continue
		}
		var stuffed bytes.Buffer
		bw := bufio.NewWriter(&stuffed)
		writeStuffed(bw, raw.Bytes())
		_ = bw.Flush()
		if !bytes.Equal(want.Bytes(), stuffed.Bytes()) {
			t.Fatalf("input %q: textproto wrote %q, raw %q stuffed %q", in, want.Bytes(), raw.Bytes(), stuffed.Bytes())
		}
		if bytes.Contains(bytes.ReplaceAll(raw.Bytes(), []byte("\r\n"), nil), []byte("\n")) {
			t.Fatalf("input %q: raw %q keeps a bare LF", in, raw.Bytes())
		}
	}
}
