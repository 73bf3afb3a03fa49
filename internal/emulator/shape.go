package emulator

import (
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// RecordShape makes generated records look like captured ones rather than like the default
// mix: record sizes with a long tail, non-ASCII text written as \uXXXX escapes (as the service
// writes it), \r\n and whole JSON documents inside strings (ModifiedProperties, extended
// properties, alert data), and objects nested three and four levels deep. The records are
// synthetic: only their statistics follow captures.
type RecordShape struct {
	// Sizes are record sizes in bytes, each equally likely to be drawn (for example the
	// sizes of captured records). Empty: DefaultShapeSizes.
	Sizes []int
}

// DefaultShapeSizes are the size quantiles (0, 10, 25, 50, 75, 90, 95, 99 and 100 %) of 124
// public Management Activity API records of every content type: a median of 1.3 KB, one in
// a hundred above 6 KB, the largest 17 KB. Sizes are drawn between them linearly.
var DefaultShapeSizes = []int{121, 135, 843, 1256, 1558, 2177, 2479, 6379, 17188}

var defaultShapeQuantiles = []float64{0, .10, .25, .50, .75, .90, .95, .99, 1}

// size draws one record size.
func (s *RecordShape) size(rng *mrand.Rand) int {
	if len(s.Sizes) > 0 {
		return s.Sizes[rng.IntN(len(s.Sizes))]
	}
	u := rng.Float64()
	q := defaultShapeQuantiles
	for i := 1; i < len(q); i++ {
		if u <= q[i] {
			lo, hi := float64(DefaultShapeSizes[i-1]), float64(DefaultShapeSizes[i])
			return int(lo + (hi-lo)*(u-q[i-1])/(q[i]-q[i-1]))
		}
	}
	return DefaultShapeSizes[len(DefaultShapeSizes)-1]
}

// appendEscaped writes s as a JSON string the way the service does: every non-ASCII
// character as \uXXXX (a surrogate pair beyond the BMP), control characters escaped.
func appendEscaped(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	u4 := func(dst []byte, r rune) []byte {
		return append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r < 0x20:
			dst = u4(dst, r)
		case r < utf8.RuneSelf:
			dst = append(dst, byte(r))
		case r > 0xffff:
			a, b := utf16.EncodeRune(r)
			dst = u4(u4(dst, a), b)
		default:
			dst = u4(dst, r)
		}
	}
	return append(dst, '"')
}

var shapedPeople = []person{
	{"Renée Dubois", "renee.dubois"}, {"Jürgen Groß", "juergen.gross"}, {"Łukasz Wróbel", "lukasz.wrobel"},
	{"佐藤 花子", "hanako.sato"}, {"Admin", "admin"}, {"Søren Kierkegård", "soren.k"}, {"Ana Conceição", "ana.c"},
}

// genShaped appends one record of the given shape; see RecordShape.
func (e *Emulator) genShaped(dst []byte, rng *mrand.Rand, shape *RecordShape, ct string, blobCreated time.Time, id string) []byte {
	start := len(dst)
	size := shape.size(rng)
	p := shapedPeople[rng.IntN(len(shapedPeople))]
	upn := p.upn + "@" + e.cfg.TenantDomain
	ops := operations[ct]
	if ops == nil {
		ops = []string{"Unknown"}
	}
	creation := blobCreated.Add(-time.Duration(1800+rng.IntN(5400)) * time.Second).UTC()
	o := &jsonObj{b: append(dst, '{'), first: true}
	str := func(k, v string) { o.key(k); o.b = appendEscaped(o.b, v) }
	str("CreationTime", creation.Format("2006-01-02T15:04:05"))
	str("Id", id)
	str("Operation", ops[rng.IntN(len(ops))])
	str("OrganizationId", e.cfg.TenantID)
	o.num("RecordType", []int64{15, 2, 6, 25, 40, 64}[rng.IntN(6)])
	str("ResultStatus", []string{"Success", "Succeeded", "Failed", "PartiallySucceeded"}[rng.IntN(4)])
	str("UserKey", strconv.FormatUint(1e15+rng.Uint64N(9e15), 10))
	o.num("UserType", int64(rng.IntN(5)))
	o.num("Version", 1)
	str("Workload", workload(ct, rng))
	str("ClientIP", ip(rng))
	str("UserId", upn)

	// unit appends one piece of the type's repeated, nested content; the record grows by
	// units until it reaches its drawn size.
	var unit func(b []byte, i int) []byte
	var field string
	switch ct {
	case "Audit.AzureActiveDirectory":
		str("ObjectId", upn)
		o.num("AzureActiveDirectoryEventType", 1)
		o.key("ExtendedProperties")
		o.b = append(o.b, `[{"Name":"additionalDetails","Value":`...)
		o.b = appendEscaped(o.b, `{"UserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0","RequestType":"OAuth2:Authorize","ResultStatusDetail":"Redirect"}`)
		o.b = append(o.b, `},{"Name":"extendedAuditEventCategory","Value":"User"}]`...)
		o.key("Actor")
		o.b = fmt.Appendf(o.b, `[{"ID":"%s","Type":0},{"ID":%s,"Type":5}]`, guid(rng), appendEscaped(nil, upn))
		o.key("Target")
		o.b = fmt.Appendf(o.b, `[{"ID":"User_%s","Type":2},{"ID":%s,"Type":5}]`, guid(rng), appendEscaped(nil, p.name))
		field = "ModifiedProperties"
		unit = func(b []byte, i int) []byte {
			b = fmt.Appendf(b, `{"Name":"StrongAuthenticationMethod%d","NewValue":`, i)
			b = appendEscaped(b, fmt.Sprintf("[\r\n  {\r\n    \"MethodType\": %d,\r\n    \"Default\": true,\r\n    \"DisplayName\": \"%s\"\r\n  }\r\n]", rng.IntN(8), p.name))
			b = append(b, `,"OldValue":`...)
			return append(appendEscaped(b, "[\r\n  \"Included Updated Properties\"\r\n]"), '}')
		}
	case "Audit.Exchange":
		str("ObjectId", `\Boîte de réception\`+p.name)
		str("MailboxOwnerUPN", upn)
		str("ClientInfoString", "Client=REST;Client=RESTSystem;;")
		o.key("AppAccessContext")
		o.b = fmt.Appendf(o.b, `{"AADSessionId":"%s","IssuedAtTime":"%s","UniqueTokenId":"%s"}`, guid(rng), creation.Format(time.RFC3339), strconv.FormatUint(rng.Uint64(), 10))
		field = "Folders"
		unit = func(b []byte, i int) []byte {
			b = append(b, `{"FolderItems":[{"InternetMessageId":"<`...)
			b = append(b, guid(rng)...)
			b = append(b, `@AM0PR04MB1234.eurprd04.prod.outlook.com>","SizeInBytes":`...)
			b = strconv.AppendInt(b, 1000+rng.Int64N(1e8), 10)
			b = append(b, `,"Subject":`...)
			b = appendEscaped(b, fmt.Sprintf("Re: Réunion – budget “Q%d” für %s ✅", 1+i%4, p.name))
			b = append(b, `}],"Id":"LgAAAAB`...)
			b = append(b, guid(rng)[:18]...)
			b = append(b, `","Path":`...)
			return append(appendEscaped(b, `\Boîte de réception\Projets\`+p.name), '}')
		}
	case "Audit.SharePoint":
		str("ObjectId", "https://contoso.sharepoint.com/sites/Finance/Documents partages/Données\u200b2024/Q3 final.xlsx")
		str("SiteUrl", "https://contoso.sharepoint.com/sites/Finance/")
		str("SourceFileName", "Q3 final\u200b.xlsx")
		str("UserAgent", "Microsoft SkyDriveSync 24.201.1006.0005 ship; Windows NT 10.0 (22631)")
		o.key("AppAccessContext")
		o.b = fmt.Appendf(o.b, `{"ClientAppId":"%s","ClientAppName":"Microsoft Office","CorrelationId":"%s"}`, guid(rng), guid(rng))
		field = "ListItems"
		unit = func(b []byte, i int) []byte {
			b = fmt.Appendf(b, `{"ListItemUniqueId":"%s","ListId":"%s","FileId":%d,"Path":`, guid(rng), guid(rng), 1<<40+rng.Int64N(1<<40))
			return append(appendEscaped(b, fmt.Sprintf("/sites/Finance/Documents partagés/Équipe %d/Présentation — %s.pptx", i, p.name)), '}')
		}
	default:
		str("ObjectId", guid(rng))
		str("Category", "ThreatManagement")
		str("Severity", "Medium")
		field = "Actions"
		unit = func(b []byte, i int) []byte {
			inner := fmt.Sprintf(`{"$id":"%d","ActionId":"urn:EmailZapper:%s","ActionStatus":"Pending","Entities":[{"$id":"%d","NetworkMessageIds":["%s","%s"],"CountByThreatType":{"HighConfPhish":%d,"Phish":0,"Malware":0},"Query":"( (NormalizedUrl:\"https://example.com/%d\") ) AND (Sender:\"%s\")","StartTimeUtc":"%s"}]}`,
				2*i+1, guid(rng)[:32], 2*i+2, guid(rng), guid(rng), rng.IntN(20), i, p.name, creation.Format("2006-01-02T15:04:05.0000000Z"))
			return appendEscaped(b, inner)
		}
	}
	o.key(field)
	o.b = append(o.b, '[')
	for i := 0; len(o.b)-start < size-2; i++ {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = unit(o.b, i)
	}
	o.b = append(o.b, ']')
	return o.close()
}
