package auth

import (
	"encoding/base64"
	"testing"
	"time"
)

func jwt(payload string) string {
	return "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
}

func TestDecodeClaims(t *testing.T) {
	tests := []struct {
		name, token string
		ok          bool
		role, tid   string
		exp         time.Time
	}{
		{"v1 token", jwt(`{"roles":["ActivityFeed.Read"],"tid":"t1","appid":"a1","exp":1800000000}`), true, "ActivityFeed.Read", "t1", time.Unix(1800000000, 0).UTC()},
		{"v2 token with azp and a float exp", jwt(`{"roles":["activityfeed.read"],"tid":"t2","azp":"a2","exp":1800000000.0}`), true, "ActivityFeed.Read", "t2", time.Unix(1800000000, 0).UTC()},
		{"no roles", jwt(`{"tid":"t3"}`), true, "", "t3", time.Time{}},
		{"two parts", "a.b", false, "", "", time.Time{}},
		{"payload not base64", "a.!!!.c", false, "", "", time.Time{}},
		{"payload not JSON", jwt(`not json`), false, "", "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeClaims(tt.token)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			if tt.role != "" && !c.HasRole(tt.role) {
				t.Errorf("roles %v lack %s", c.Roles, tt.role)
			}
			if tt.role == "" && c.HasRole("ActivityFeed.Read") {
				t.Error("a token without roles has ActivityFeed.Read")
			}
			if c.TenantID != tt.tid || !c.Expires.Equal(tt.exp) || c.AppID == "" && tt.tid != "t3" {
				t.Errorf("claims %+v", c)
			}
		})
	}
}

func FuzzDecodeClaims(f *testing.F) {
	f.Add(jwt(`{"roles":["ActivityFeed.Read"],"tid":"t","exp":1}`))
	f.Add("a.b.c")
	f.Add(jwt(`{"exp":1e300,"roles":null}`))
	f.Fuzz(func(t *testing.T, token string) {
		_, _ = DecodeClaims(token) // must not panic on anything Azure AD or a proxy could send
	})
}
