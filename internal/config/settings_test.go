package config

import (
	"testing"
	"time"
)

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "",
		"postgres://herald@db/herald":         "postgres://herald@db/herald",
		"postgres://herald:pw@db/herald":      "postgres://herald:xxxxx@db/herald",
		"postgres://db/h?user=u&password=pw":  "postgres://db/h?user=u&password=xxxxx",
		"postgres://db/h?sslpassword=pw&a=b":  "postgres://db/h?sslpassword=xxxxx&a=b",
		"redis://:pw@cache:6379/0":            "redis://:xxxxx@cache:6379/0",
		"https://herald.example.com":          "https://herald.example.com",
		"https://x/?access_token=t&Secret=s":  "https://x/?access_token=xxxxx&Secret=xxxxx",
		"postgres://u:p%zz@db/h":              Masked, // not a URL: nothing of it shows
		"redis://user:p%40ss@cache:6379/0?x=": "redis://user:xxxxx@cache:6379/0?x=",
	} {
		if got := MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSettingsDurations(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 15 * time.Minute: "15m", 15 * time.Second: "15s",
		time.Hour + 30*time.Second: "1h0m30s", 1500 * time.Millisecond: "1.5s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
	// Every setting is listed, defaults included, none without a name.
	s := Defaults().Settings()
	if len(s) != 35 || s[0].Name != "DATABASE_URL" || s[len(s)-1] != (Setting{"MEMORY_TARGET_MIB", "36"}) {
		t.Fatalf("%+v", s)
	}
}
