package identity

import (
	"testing"
	"time"
)

// The templates render the account mails word for word: scripts and the
// README read the token off its own line.
func TestAccountMailsRender(t *testing.T) {
	const token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	d := mailData{BaseURL: "https://herald.example", Token: token, TTL: 24 * time.Hour}
	got, err := verificationMail.render(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `Hello,

Please confirm the email address of your Herald account by opening this link:

https://herald.example/verify?token=` + token + `

A program can confirm it with the API's link:

https://herald.example/api/v1/auth/verify?token=` + token + `

or by sending this token to POST https://herald.example/api/v1/auth/verify as {"token": "..."}:

` + token + `

The link works once and expires in 24h0m0s. If you did not register, ignore this message.
`
	if got != want {
		t.Fatalf("verification mail:\n%s\nwant:\n%s", got, want)
	}

	d.TTL = time.Hour
	got, err = resetMail.render(d)
	if err != nil {
		t.Fatal(err)
	}
	want = `Hello,

Someone asked to reset the password of your Herald account. To choose a new one, open
this link:

https://herald.example/password-reset?token=` + token + `

or send this token with your new password to POST https://herald.example/api/v1/auth/password-reset/confirm:

` + token + `

The token works once and expires in 1h0m0s. If you did not ask, ignore this message; your
password stays as it is.
`
	if got != want {
		t.Fatalf("reset mail:\n%s\nwant:\n%s", got, want)
	}
}
