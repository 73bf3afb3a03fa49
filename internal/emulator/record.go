package emulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	mrand "math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"
)

// blob body layouts: real bodies are compact, but a client must not assume so.
const (
	layoutCompact = iota
	layoutLines
	layoutIndented
	layoutCount
)

// writeBlob streams a blob body. With limit >= 0 only that many records are
// written and the array is left open (a body cut short).
func (e *Emulator) writeBlob(w *bufio.Writer, b *blobEntry, limit int) error {
	if body := b.spec.Body; body != nil {
		if limit >= 0 {
			body = body[:len(body)/2]
		}
		_, _ = w.Write(body)
		return w.Flush()
	}
	layout := int(splitmix64(uint64(e.cfg.Seed)^b.seq^0xb10b) % layoutCount)
	n := b.recordCount()
	if limit >= 0 && limit < n {
		n = limit
	}
	_ = w.WriteByte('[')
	var rec []byte
	var ind bytes.Buffer
	for i := range n {
		if i > 0 {
			_ = w.WriteByte(',')
		}
		if layout != layoutCompact {
			_ = w.WriteByte('\n')
		}
		rec = e.record(rec[:0], b, i)
		var err error
		if layout == layoutIndented {
			ind.Reset()
			_ = json.Indent(&ind, rec, "  ", "  ")
			_, _ = w.WriteString("  ")
			_, err = w.Write(ind.Bytes())
		} else {
			_, err = w.Write(rec)
		}
		if err != nil {
			return err // the client went away; bufio keeps the error
		}
	}
	if limit >= 0 && limit < b.recordCount() {
		return w.Flush()
	}
	if layout != layoutCompact && n > 0 {
		_ = w.WriteByte('\n')
	}
	_ = w.WriteByte(']')
	return w.Flush()
}

// record appends the i-th record of blob b. A repeated Id produces the same
// record as in the blob it first came from.
func (e *Emulator) record(dst []byte, b *blobEntry, i int) []byte {
	id := e.recordID(b, i)
	src, idx := b, uint32(i)
	if i >= b.spec.Records {
		if seq, x, ok := e.parseID(id); ok {
			e.mu.Lock()
			o := e.bySeq[seq]
			e.mu.Unlock()
			if o != nil {
				src, idx = o, x
			}
		} else {
			h := fnv.New64a()
			h.Write([]byte(id))
			idx = uint32(h.Sum64())
		}
	}
	rng := mrand.New(mrand.NewPCG(uint64(e.cfg.Seed), src.seq<<32|uint64(idx)))
	if src.spec.Shape != nil {
		return e.genShaped(dst, rng, src.spec.Shape, src.spec.ContentType, src.created, id)
	}
	size := src.spec.RecordBytes
	if size <= 0 {
		size = 500 + rng.IntN(3501)
	}
	return e.genRecord(dst, rng, src.spec.ContentType, src.created, id, size)
}

type person struct{ name, upn string }

var people = []person{
	{"Zoë Müller", "zoe.muller"},
	{"José Núñez", "jose.nunez"},
	{"山田 太郎", "taro.yamada"},
	{"Ørjan Ås", "orjan.as"},
	{`Pat "PJ" O'Brien`, "pat.obrien"},
	{"Admin", "admin"},
}

var operations = map[string][]string{
	"Audit.AzureActiveDirectory": {"UserLoggedIn", "UserLoginFailed", "Add user.", "Update user.", "Add member to group."},
	"Audit.Exchange":             {"MailItemsAccessed", "Send", "New-InboxRule", "Set-Mailbox", "HardDelete"},
	"Audit.SharePoint":           {"FileAccessed", "FileModified", "FileDownloaded", "PageViewed", "SharingSet"},
	"Audit.General":              {"MessageSent", "MemberAdded", "TeamCreated", "ChannelAdded", "ViewReport"},
	"DLP.All":                    {"DlpRuleMatch", "DlpRuleUndo", "DlpInfo"},
}

// jsonObj writes an object with fields in a fixed order: records are
// compared byte for byte by some tests, so no maps.
type jsonObj struct {
	b     []byte
	first bool
}

func openObj(dst []byte) *jsonObj { return &jsonObj{b: append(dst, '{'), first: true} }

func (o *jsonObj) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
}
func (o *jsonObj) str(k, v string)       { o.key(k); o.b = appendString(o.b, v) }
func (o *jsonObj) raw(k, v string)       { o.key(k); o.b = append(o.b, v...) }
func (o *jsonObj) num(k string, v int64) { o.key(k); o.b = strconv.AppendInt(o.b, v, 10) }
func (o *jsonObj) close() []byte         { return append(o.b, '}') }

// appendString writes s as a JSON string; non-ASCII stays raw UTF-8 except
// U+2028/U+2029, escaped as JavaScript-safe encoders do.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

func guid(rng *mrand.Rand) string {
	a, b := rng.Uint64(), rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, 0x8000|b>>48&0x3fff, b&0xffffffffffff)
}

func ip(rng *mrand.Rand) string {
	if rng.IntN(5) == 0 {
		return fmt.Sprintf("2a01:111:f400:%x::%x", rng.IntN(0xffff), rng.IntN(0xffff))
	}
	return fmt.Sprintf("%d.%d.%d.%d", 20+rng.IntN(180), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
}

const filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit; sed do eiusmod tempor. "

// genRecord appends one audit record in the common schema, about size bytes.
func (e *Emulator) genRecord(dst []byte, rng *mrand.Rand, ct string, blobCreated time.Time, id string, size int) []byte {
	start := len(dst)
	domain := e.cfg.TenantDomain
	p := people[rng.IntN(len(people))]
	upn := p.upn + "@" + domain
	ops := operations[ct]
	if ops == nil {
		ops = []string{"Unknown"}
	}
	op := ops[rng.IntN(len(ops))]
	// Events show up 30-120 minutes after they happen, now and then days later.
	lag := time.Duration(30+rng.IntN(90)) * time.Minute
	if rng.IntN(50) == 0 {
		lag += time.Duration(1+rng.IntN(3)) * 24 * time.Hour
	}
	creation := blobCreated.Add(-lag - time.Duration(rng.IntN(3600))*time.Second).UTC()
	status := "Succeeded"
	if rng.IntN(8) == 0 {
		status = "Failed"
	}

	o := openObj(dst)
	o.str("CreationTime", creation.Format("2006-01-02T15:04:05"))
	o.str("Id", id)
	o.str("Operation", op)
	o.str("OrganizationId", e.cfg.TenantID)
	switch ct {
	case "Audit.AzureActiveDirectory":
		o.num("RecordType", []int64{15, 8}[rng.IntN(2)])
	case "Audit.Exchange":
		o.num("RecordType", []int64{2, 1, 50}[rng.IntN(3)])
	case "Audit.SharePoint":
		o.num("RecordType", []int64{6, 4, 14}[rng.IntN(3)])
	case "Audit.General":
		o.num("RecordType", []int64{25, 20, 64, 261}[rng.IntN(4)])
	default:
		o.num("RecordType", []int64{13, 11, 33}[rng.IntN(3)])
	}
	o.str("ResultStatus", status)
	o.str("UserKey", fmt.Sprintf("1003%012X", rng.Uint64()&0xffffffffffff))
	o.num("UserType", int64(rng.IntN(3)))
	o.num("Version", 1)
	o.str("Workload", workload(ct, rng))
	o.str("ClientIP", ip(rng))
	o.str("UserId", upn)

	switch ct {
	case "Audit.AzureActiveDirectory":
		o.str("ObjectId", upn)
		o.num("AzureActiveDirectoryEventType", 1)
		o.raw("ExtendedProperties", `[{"Name":"ResultStatusDetail","Value":"Success"},{"Name":"UserAgent","Value":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},{"Name":"RequestType","Value":"OAuth2:Token"}]`)
		o.raw("ModifiedProperties", "[]")
		o.raw("Actor", `[{"ID":`+string(appendString(nil, upn))+`,"Type":5},{"ID":"`+guid(rng)+`","Type":0}]`)
		o.str("ActorContextId", e.cfg.TenantID)
		o.str("ApplicationId", guid(rng))
		o.str("InterSystemsId", guid(rng))
		o.str("IntraSystemId", guid(rng))
		o.raw("Target", `[{"ID":"`+guid(rng)+`","Type":0}]`)
		o.str("TargetContextId", e.cfg.TenantID)
		o.str("ErrorNumber", "0")
		if status == "Failed" {
			o.num("LoginStatus", -2147217390)
		}
	case "Audit.Exchange":
		o.str("ObjectId", `\\EXCH01\Mailbox\`+p.name+`\Inbox\"Budget" 東京`)
		o.str("AppId", guid(rng))
		o.str("ClientInfoString", "Client=OWA;Action=ViaProxy")
		o.raw("ExternalAccess", "false")
		o.num("InternalLogonType", 0)
		o.num("LogonType", int64(rng.IntN(3)))
		o.str("MailboxGuid", guid(rng))
		o.str("MailboxOwnerUPN", upn)
		o.str("OrganizationName", domain)
		o.str("OriginatingServer", "DB7PR04MB1234 (15.20.6954.000)\r\n")
		o.raw("Parameters", `[{"Name":"Identity","Value":`+string(appendString(nil, p.name))+`},{"Name":"Subject","Value":"Re: \"Q3\" \u00fcber \\\\server\\share\tend"}]`)
		o.raw("Folders", `[{"Id":"LgAAAAB","Path":"\\Inbox","FolderItems":[{"InternetMessageId":"<`+guid(rng)+`@DB7PR04MB1234.eurprd04.prod.outlook.com>","SizeInBytes":12345678901234567890}]}]`)
	case "Audit.SharePoint":
		o.str("ObjectId", "https://contoso.sharepoint.com/sites/Finance/Shared Documents/東京/Q3 \"final\".xlsx")
		o.str("Site", guid(rng))
		o.str("ItemType", "File")
		o.str("EventSource", "SharePoint")
		o.str("ListId", guid(rng))
		o.str("ListItemUniqueId", guid(rng))
		o.str("SiteUrl", "https://contoso.sharepoint.com/sites/Finance/")
		o.str("SourceFileExtension", "xlsx")
		o.str("SourceFileName", `Q3 "final".xlsx`)
		o.str("SourceRelativeUrl", "Shared Documents/東京")
		o.str("UserAgent", "Microsoft Office Excel 2014")
		o.str("GeoLocation", "EUR")
		o.raw("IsManagedDevice", "false")
	case "Audit.General":
		o.str("ObjectId", "19:"+guid(rng)+"@thread.tacv2")
		o.str("TeamName", "Équipe Ops \u2028 Tokyo 東京")
		o.str("TeamGuid", "19:"+guid(rng)+"@thread.tacv2")
		o.str("ChannelName", "General")
		o.raw("Members", `[{"DisplayName":`+string(appendString(nil, p.name))+`,"Role":1,"UPN":`+string(appendString(nil, upn))+`}]`)
		o.str("CommunicationType", "Channel")
		o.num("MessageId", 1700000000000+int64(rng.IntN(1e9)))
	default:
		o.str("ObjectId", "Q3 \"final\".xlsx")
		o.str("IncidentId", guid(rng))
		o.raw("SensitiveInfoDetectionIsIncluded", "true")
		o.raw("PolicyDetails", `[{"PolicyId":"`+guid(rng)+`","PolicyName":"EU GDPR \\ PII","Rules":[{"RuleId":"`+guid(rng)+`","RuleName":"Low volume","Severity":"Medium","Actions":["NotifyUser"],"ConditionsMatched":{"SensitiveInformation":[{"SensitiveType":"50842eb7-edc8-4019-85dd-5a5c1f2bb085","Count":3,"Confidence":85,"Location":null}]}}]}]`)
	}
	o.raw("Metrics", `{"Bytes":12345678901234567890,"Code":-2147217390,"Ratio":0.1000000000000000055511151231257827,"Huge":1.5e300,"Tiny":-2.5E-8,"Zero":-0.0,"Hundred":1E+2}`)
	o.str("Comment", "Line one\tTabbed \"quoted\" C:\\Temp\\ line\u2028sep\nZoë Müller 東京 ☃")
	if pad := size - (len(o.b) - start) - len(`,"Details":""}`); pad > 0 {
		o.key("Details")
		o.b = append(o.b, '"')
		for pad > 0 {
			n := min(pad, len(filler))
			o.b = append(o.b, filler[:n]...)
			pad -= n
		}
		o.b = append(o.b, '"')
	}
	return o.close()
}

func workload(ct string, rng *mrand.Rand) string {
	switch ct {
	case "Audit.AzureActiveDirectory":
		return "AzureActiveDirectory"
	case "Audit.Exchange":
		return "Exchange"
	case "Audit.SharePoint":
		return []string{"SharePoint", "OneDrive"}[rng.IntN(2)]
	case "Audit.General":
		return []string{"MicrosoftTeams", "PowerBI", "Yammer"}[rng.IntN(3)]
	default:
		return []string{"Exchange", "SharePoint", "OneDrive"}[rng.IntN(3)]
	}
}
