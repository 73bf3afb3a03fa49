package config

import "strings"

// ContentTypes are the five documented content types in canonical casing.
// They double as output file names, so only these can ever leave this
// package: a content type can never name a path outside baseLogLocation.
var ContentTypes = []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"}

// CanonicalContentType matches s (surrounding spaces ignored) against
// ContentTypes case-insensitively and returns the canonical casing.
func CanonicalContentType(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, ct := range ContentTypes {
		if strings.EqualFold(s, ct) {
			return ct, true
		}
	}
	return "", false
}
