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
		var want, got bytes.Buffer
		tw := textproto.NewWriter(bufio.NewWriter(&want)).DotWriter()
		fw := &dotWriter{w: &got}
		for rest := in; len(rest) > 0; {
			k := 1 + rng.IntN(len(rest))
			if _, err := tw.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			if _, err := fw.Write(rest[:k]); err != nil {
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
	}
}
