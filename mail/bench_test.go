package mail_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/heraldmail/herald/mail"
)

// BenchmarkSendToSink pushes batches of 5,000 messages through 32 pooled
// connections into a real Sink on loopback (which writes each one to disk)
// and reports messages/s and allocations per message on the client side
// plus the sink (both run in this process). One op is one batch, so
// `make bench` (-benchtime=1x) still measures 5,000 messages.
func BenchmarkSendToSink(b *testing.B) {
	const batch, conc = 5000, 32
	dir, cleanup, err := mail.ScratchDir("herald-bench-sink-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cleanup)
	sink := startSink(b, mail.SinkConfig{Dir: dir})
	c := newClient(b, mail.Config{Endpoint: sink.Endpoint(), Concurrency: conc})
	body := strings.Repeat("Bonjour, voici les nouvelles de la semaine. ", 20)
	send := func(n int) {
		var wg sync.WaitGroup
		jobs := make(chan int, conc)
		for range conc {
			wg.Go(func() {
				for i := range jobs {
					r := c.Send(context.Background(), mail.Message{
						To: fmt.Sprintf("client%d@example.org", i), ToName: "Client", Subject: "Weekly news",
						TextBody: body, MessageID: fmt.Sprintf("run.%d@herald.test", i),
					})
					if !r.OK() {
						b.Errorf("send %d: %+v", i, r)
					}
				}
			})
		}
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
	}
	send(conc) // warm the pool
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		send(batch)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	total := float64(batch * b.N)
	b.ReportMetric(total/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/msg")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/total, "B/msg")
	b.ReportMetric(float64(after.HeapSys)/(1<<20), "heap-MB")
	if got := sink.Connections(); got > conc {
		b.Errorf("%d connections for a pool of %d", got, conc)
	}
}

// BenchmarkBuildSigned is the cost DKIM adds to one message: encode and
// sign, RSA-2048 and Ed25519, with no connection.
func BenchmarkBuildSigned(b *testing.B) {
	ks, _ := testKeys(b)
	for _, kind := range []string{"none", "rsa", "ed25519"} {
		b.Run(kind, func(b *testing.B) {
			cfg := mail.Config{Endpoint: mail.Endpoint{Host: "127.0.0.1", Port: 25}, From: "news@herald.test"}
			if kind != "none" {
				cfg.DKIM = &mail.DKIM{Domain: "herald.test", Selector: "s1", Key: ks[kind]}
			}
			c := newClient(b, cfg)
			m := mail.Message{To: "zoe@example.org", Subject: "Hello", TextBody: strings.Repeat("Some news for you. ", 60)}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Encode(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignNewsletter is the floor DKIM puts under a newsletter's
// throughput: a multipart message with a 4 KB HTML part, encoded unsigned
// and signed (encode/), signed alone by go-msgauth as the Client signs it
// (dkim/), and the private-key operation alone on a SHA-256 digest (key/).
// messages/s/core is what one core could sign at that cost and nothing else.
func BenchmarkSignNewsletter(b *testing.B) {
	ks, _ := testKeys(b)
	html := strings.Repeat("<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, <a href=\"https://news.example.test/s\">read on</a>.</p>\n", 40)[:4096]
	m := mail.Message{To: "zoe@example.org", ToName: "Zoe Example", Subject: "Zoe Example, your monthly news",
		TextBody: strings.Repeat("Some news for you. ", 60), HTMLBody: html}
	perCore := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s/core")
	}
	raw, err := newClient(b, mail.Config{Endpoint: mail.Endpoint{Host: "127.0.0.1", Port: 25}, From: "news@herald.test"}).Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"none", "ed25519", "rsa"} {
		b.Run("encode/"+kind, func(b *testing.B) {
			cfg := mail.Config{Endpoint: mail.Endpoint{Host: "127.0.0.1", Port: 25}, From: "news@herald.test"}
			if kind != "none" {
				cfg.DKIM = &mail.DKIM{Domain: "herald.test", Selector: "s1", Key: ks[kind]}
			}
			c := newClient(b, cfg)
			for b.Loop() {
				if _, err := c.Encode(m); err != nil {
					b.Fatal(err)
				}
			}
			perCore(b)
		})
	}
	// dkim/ed25519-short signs a message of a header and one line: what a
	// signature costs whatever the message's size.
	short, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	short = append(short, "\r\n\r\nHello.\r\n"...)
	for _, kind := range []string{"ed25519", "ed25519-short", "rsa"} {
		b.Run("dkim/"+kind, func(b *testing.B) {
			key, msg := strings.TrimSuffix(kind, "-short"), raw
			if key != kind {
				msg = short
			}
			o := &dkim.SignOptions{Domain: "herald.test", Selector: "s1", Signer: ks[key],
				HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed}
			for b.Loop() {
				if err := dkim.Sign(io.Discard, bytes.NewReader(msg), o); err != nil {
					b.Fatal(err)
				}
			}
			perCore(b)
		})
	}
	digest := sha256.Sum256(raw)
	for _, kind := range []string{"ed25519", "rsa"} {
		b.Run("key/"+kind, func(b *testing.B) {
			var opts crypto.SignerOpts = crypto.SHA256
			if kind == "ed25519" {
				opts = crypto.Hash(0)
			}
			for b.Loop() {
				if _, err := ks[kind].Sign(rand.Reader, digest[:], opts); err != nil {
					b.Fatal(err)
				}
			}
			perCore(b)
		})
	}
}
