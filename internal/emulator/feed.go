package emulator

import (
	"bufio"
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	maxWindow  = 24 * time.Hour
	timeLayout = "2006-01-02T15:04:05.000Z"
	msgAF20055 = "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past."
)

// writeAPIError writes the Activity API error body.
func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// methodName is what Microsoft names the operation in AF429 messages.
var methodName = map[string]string{
	"blob": "GetBlob", "content": "ListContent", "list": "ListSubscriptions",
	"start": "StartSubscription", "stop": "StopSubscription",
}

var wantMethod = map[string]string{
	"blob": http.MethodGet, "content": http.MethodGet, "list": http.MethodGet,
	"start": http.MethodPost, "stop": http.MethodPost,
}

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request, tenant string, rest []string, kind string) {
	if !e.authorize(w, r, tenant) {
		return
	}
	q := r.URL.Query()
	if p := q.Get("PublisherIdentifier"); !strings.EqualFold(p, e.cfg.TenantID) {
		writeAPIError(w, http.StatusBadRequest, "PublisherIdentifierMissing",
			fmt.Sprintf("The query parameter PublisherIdentifier=%s is missing or names another tenant (got %q). Without it the request is charged to the quota shared by all publishers.", e.cfg.TenantID, p))
		return
	}
	m, known := wantMethod[kind]
	if !known {
		writeAPIError(w, http.StatusNotFound, "AF20000", "No resource was found at "+r.URL.Path+".")
		return
	}
	if r.Method != m {
		w.Header().Set("Allow", m)
		writeAPIError(w, http.StatusMethodNotAllowed, "AF20000", "The requested resource does not support http method '"+r.Method+"'.")
		return
	}
	f := e.drawAPIFault()
	if f != noFault && (f != faultDrop || kind != "blob") {
		e.answerFault(w, f, methodName[kind])
		return
	}
	switch kind {
	case "blob":
		e.serveBlob(w, r, rest[2], f == faultDrop)
	case "content":
		e.serveContent(w, r)
	case "list":
		e.serveList(w)
	case "start":
		e.serveStart(w, r)
	case "stop":
		e.serveStop(w, r)
	}
}

// authorize checks the bearer token: signature, expiry, audience, tenant and
// role. It answers and returns false on failure.
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request, tenant string) bool {
	deny := func(code, msg string) bool {
		w.Header().Set("WWW-Authenticate", `Bearer realm="manage.office.com", error="invalid_token"`)
		writeAPIError(w, http.StatusUnauthorized, code, msg)
		return false
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return deny("AF10001", "Authorization has been denied for this request: no Bearer token in the Authorization header.")
	}
	claims, err := verifyHS256(e.hmacKey, tok)
	if err != nil {
		return deny("AF10001", "Authorization has been denied for this request: "+err.Error()+".")
	}
	now := e.now()
	if exp, ok := numClaim(claims, "exp"); !ok || !time.Unix(exp, 0).After(now) {
		return deny("AF10001", "Authorization has been denied for this request: the access token has expired.")
	}
	if life := e.cfg.ServerTokenLifetime; life > 0 {
		if iat, ok := numClaim(claims, "iat"); !ok || !time.Unix(iat, 0).Add(life).After(now) {
			return deny("AF10001", "Authorization has been denied for this request: the access token has expired.")
		}
	}
	if aud, want := strClaim(claims, "aud"), e.base(r); aud != want {
		return deny("AF10001", fmt.Sprintf("Authorization has been denied for this request: token audience %q is not %q.", aud, want))
	}
	if tid := strClaim(claims, "tid"); !strings.EqualFold(tid, tenant) {
		return deny("AF20010", fmt.Sprintf("The tenant ID passed in the URL (%s) does not match the tenant ID passed in the access token (%s).", tenant, tid))
	}
	roles, _ := claims["roles"].([]any)
	if !slices.Contains(roles, any(DefaultRole)) {
		var names []string
		for _, r := range roles {
			names = append(names, fmt.Sprint(r))
		}
		return deny("AF10001", fmt.Sprintf("The permission set (%s) sent in the request does not include the expected permission.", strings.Join(names, ",")))
	}
	return true
}

func validContentType(ct string) bool { return slices.Contains(ContentTypes, ct) }

func (e *Emulator) contentTypeParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	ct := foldQuery(r.URL.Query()).Get("contentType")
	if !validContentType(ct) {
		writeAPIError(w, http.StatusBadRequest, "AF20020", fmt.Sprintf("The specified content type is not valid: %q. Valid types: %s.", ct, strings.Join(ContentTypes, ", ")))
		return "", false
	}
	return ct, true
}

type subscriptionJSON struct {
	ContentType string `json:"contentType"`
	Status      string `json:"status"`
	Webhook     any    `json:"webhook"`
}

func (e *Emulator) serveStart(w http.ResponseWriter, r *http.Request) {
	ct, ok := e.contentTypeParam(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	already := e.subs[ct] == StatusEnabled
	e.subs[ct] = StatusEnabled
	e.mu.Unlock()
	if already {
		writeAPIError(w, http.StatusBadRequest, "AF20024", "The subscription is already enabled. No property change.")
		return
	}
	writeJSON(w, http.StatusOK, subscriptionJSON{ContentType: ct, Status: StatusEnabled})
}

func (e *Emulator) serveStop(w http.ResponseWriter, r *http.Request) {
	ct, ok := e.contentTypeParam(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	_, exists := e.subs[ct]
	if exists {
		e.subs[ct] = StatusDisabled
	}
	e.mu.Unlock()
	if !exists {
		writeAPIError(w, http.StatusBadRequest, "AF20022", "No subscription found for the specified content type.")
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (e *Emulator) serveList(w http.ResponseWriter) {
	e.mu.Lock()
	out := []subscriptionJSON{}
	for _, ct := range ContentTypes {
		if st, ok := e.subs[ct]; ok {
			out = append(out, subscriptionJSON{ContentType: ct, Status: st})
		}
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// parseAPITime accepts YYYY-MM-DDTHH:MM:SS with an optional fraction and an
// optional Z, read as UTC.
func parseAPITime(s string) (time.Time, error) {
	return time.ParseInLocation("2006-01-02T15:04:05.999999999", strings.TrimSuffix(s, "Z"), time.UTC)
}

// queryNames are the listing's query parameters. The live service writes them in lower case
// in its own next-page links, so it reads them in any casing; PublisherIdentifier stays exact.
var queryNames = []string{"contentType", "startTime", "endTime", "nextPage"}

// foldQuery renames the listing parameters given in any casing to their documented names.
func foldQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		for _, name := range queryNames {
			if strings.EqualFold(k, name) {
				k = name
			}
		}
		out[k] = append(out[k], vs...)
	}
	return out
}

// window applies the documented window rules (with LiveQuirks, a window of exactly
// MaxWindow is refused too).
func (e *Emulator) window(q url.Values) (start, end time.Time, ok bool) {
	s, en := q.Get("startTime"), q.Get("endTime")
	now := e.now()
	switch {
	case s == "" && en == "":
		return now.Add(-maxWindow), now, true
	case s == "" || en == "":
		return start, end, false
	}
	start, err1 := parseAPITime(s)
	end, err2 := parseAPITime(en)
	tooLong := end.Sub(start) > e.cfg.MaxWindow || e.cfg.LiveQuirks && end.Sub(start) == e.cfg.MaxWindow
	if err1 != nil || err2 != nil || !end.After(start) || tooLong || start.Before(now.Add(-retention)) {
		return start, end, false
	}
	return start, end, true
}

type contentJSON struct {
	ContentType       string `json:"contentType"`
	ContentID         string `json:"contentId"`
	ContentURI        string `json:"contentUri"`
	ContentCreated    string `json:"contentCreated"`
	ContentExpiration string `json:"contentExpiration"`
}

// pageToken binds a listing position to its window: a token used with
// other parameters, or altered, is refused.
func (e *Emulator) pageToken(ct string, start, end time.Time, after *blobEntry) string {
	payload := fmt.Sprintf("%s|%d|%d|%d|%d", ct, start.UnixNano(), end.UnixNano(), after.created.UnixMilli(), after.seq)
	mac := macSum(e.hmacKey, payload)[:12]
	return base64.RawURLEncoding.EncodeToString(append(mac, payload...))
}

// readPageToken returns the (created, seq) position after which the page starts.
func (e *Emulator) readPageToken(tok, ct string, start, end time.Time) (time.Time, uint64, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < 13 {
		return time.Time{}, 0, false
	}
	mac, payload := raw[:12], string(raw[12:])
	if !hmac.Equal(mac, macSum(e.hmacKey, payload)[:12]) {
		return time.Time{}, 0, false
	}
	p := strings.Split(payload, "|")
	if len(p) != 5 || p[0] != ct || p[1] != strconv.FormatInt(start.UnixNano(), 10) || p[2] != strconv.FormatInt(end.UnixNano(), 10) {
		return time.Time{}, 0, false
	}
	ms, err1 := strconv.ParseInt(p[3], 10, 64)
	seq, err2 := strconv.ParseUint(p[4], 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, false
	}
	return time.UnixMilli(ms).UTC(), seq, true
}

func (e *Emulator) serveContent(w http.ResponseWriter, r *http.Request) {
	q := foldQuery(r.URL.Query())
	ct, ok := e.contentTypeParam(w, r)
	if !ok {
		return
	}
	if a := e.takeAnswer(e.listAnswers, ct); a != nil {
		a.write(w)
		return
	}
	start, end, ok := e.window(q)
	if !ok {
		writeAPIError(w, http.StatusBadRequest, "AF20055", msgAF20055)
		return
	}
	switch e.Subscription(ct) {
	case "":
		writeAPIError(w, http.StatusBadRequest, "AF20022", "No subscription found for the specified content type.")
		return
	case StatusDisabled:
		writeAPIError(w, http.StatusBadRequest, "AF20023", "The subscription was disabled by the tenant administrator.")
		return
	}
	var afterCreated time.Time
	var afterSeq uint64
	paged := q.Has("nextPage")
	if paged {
		afterCreated, afterSeq, ok = e.readPageToken(q.Get("nextPage"), ct, start, end)
		if !ok {
			writeAPIError(w, http.StatusBadRequest, "AF20031", fmt.Sprintf("Invalid nextPage Input: %s.", q.Get("nextPage")))
			return
		}
	}

	now := e.now()
	base := e.base(r)
	e.mu.Lock()
	var page []*blobEntry
	more := false
	for _, b := range e.blobs[ct] {
		if b.created.Before(start) || !b.created.Before(end) || b.visibleAt().After(now) {
			continue
		}
		// Resume strictly after the last entry served, in (created, seq)
		// order, so content published between pages is neither skipped
		// nor repeated.
		if paged && (b.created.Before(afterCreated) || b.created.Equal(afterCreated) && b.seq <= afterSeq) {
			continue
		}
		if len(page) == e.cfg.PageSize {
			more = true
			break
		}
		page = append(page, b)
	}
	e.stats.Pages++
	if !paged {
		e.stats.Listings++
	}
	e.mu.Unlock()

	listedType := ct
	if e.cfg.LiveQuirks {
		listedType = otherCasing[ct]
	}
	out := make([]contentJSON, len(page))
	for i, b := range page {
		out[i] = contentJSON{
			ContentType:       listedType,
			ContentID:         b.id,
			ContentURI:        e.contentURI(base, b.id),
			ContentCreated:    b.created.Format(timeLayout),
			ContentExpiration: b.listedExpiration(e.cfg.LiveQuirks).Format(timeLayout),
		}
	}
	v := url.Values{}
	v.Set("contentType", ct)
	v.Set("startTime", q.Get("startTime"))
	v.Set("endTime", q.Get("endTime"))
	if !q.Has("startTime") {
		// The default window moves with the clock: pin it for the following pages.
		v.Set("startTime", start.Format("2006-01-02T15:04:05.000000000"))
		v.Set("endTime", end.Format("2006-01-02T15:04:05.000000000"))
	}
	v.Set("PublisherIdentifier", q.Get("PublisherIdentifier"))
	next := ""
	if more {
		v.Set("nextPage", e.pageToken(ct, start, end, page[len(page)-1]))
		next = base + r.URL.Path + "?" + v.Encode()
		if e.cfg.LiveQuirks {
			next = base + "/api/v1/" + e.cfg.TenantID + "/activity/feed/subscriptions/content?" + lowerQuery(v)
		}
	}
	e.mu.Lock()
	p, bent := e.paging[ct]
	e.mu.Unlock()
	if bent {
		endless := ""
		if p.Endless {
			// A position past every entry of the window: the page is empty, the URL new.
			v.Set("nextPage", e.pageToken(ct, start, end, &blobEntry{created: end, seq: math.MaxUint64}))
			v.Set(endlessHop, nextHop(q.Get(endlessHop)))
			endless = base + r.URL.Path + "?" + v.Encode()
		}
		next = p.nextPageURI(next, base+r.URL.RequestURI(), base, endless)
	}
	switch {
	case next == "":
	case bent && p.Header != "":
		w.Header()[p.Header] = []string{next}
	case e.cfg.LiveQuirks:
		// As over HTTP/2, where every header name is lower case.
		w.Header()["nextpageuri"] = []string{next}
	default:
		// Set would canonicalise the name to "Nextpageuri".
		w.Header()["NextPageUri"] = []string{next}
	}
	if edited := e.editEntries(out); edited != nil {
		writeJSON(w, http.StatusOK, edited)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// otherCasing is how the live service was seen to spell content types in listing entries
// (Audit.Sharepoint in Elastic's mock of it); the others follow the same pattern.
var otherCasing = map[string]string{
	"Audit.AzureActiveDirectory": "Audit.Azureactivedirectory",
	"Audit.Exchange":             "audit.exchange",
	"Audit.SharePoint":           "Audit.Sharepoint",
	"Audit.General":              "Audit.general",
	"DLP.All":                    "Dlp.All",
}

// lowerQuery is a next-page query as the live service writes it: lower-case names, no
// PublisherIdentifier.
func lowerQuery(v url.Values) string {
	var parts []string
	for _, name := range queryNames {
		parts = append(parts, strings.ToLower(name)+"="+url.QueryEscape(v.Get(name)))
	}
	return strings.Join(parts, "&")
}

// editEntries applies EditListing to a page; nil when no entry of the page is edited.
func (e *Emulator) editEntries(out []contentJSON) []map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	hit := false
	for _, c := range out {
		if e.listEdits[c.ContentID] != nil {
			hit = true
		}
	}
	if !hit {
		return nil
	}
	edited := make([]map[string]any, len(out))
	for i, c := range out {
		m := map[string]any{
			"contentType": c.ContentType, "contentId": c.ContentID, "contentUri": c.ContentURI,
			"contentCreated": c.ContentCreated, "contentExpiration": c.ContentExpiration,
		}
		for k, v := range e.listEdits[c.ContentID] {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		edited[i] = m
	}
	return edited
}

func (e *Emulator) serveBlob(w http.ResponseWriter, r *http.Request, id string, drop bool) {
	if a := e.takeAnswer(e.blobAnswers, id); a != nil {
		a.write(w)
		return
	}
	e.mu.Lock()
	b := e.byID[id]
	failStatus := e.failing[id]
	expired := e.expired[id]
	e.mu.Unlock()
	if failStatus != 0 {
		writeAPIError(w, failStatus, "AF50000", "An internal error occurred while retrieving content "+id+". Retry the request.")
		return
	}
	if b == nil {
		writeAPIError(w, http.StatusBadRequest, "AF20052", fmt.Sprintf("Content ID %s in the URL is invalid.", id))
		return
	}
	if expired || e.now().After(b.expiration()) {
		writeAPIError(w, http.StatusBadRequest, "AF20051", fmt.Sprintf("Content requested with the key %s has already expired. Content older than 7 days cannot be retrieved.", id))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	if drop {
		// Cut the body after about half of it: the client sees a truncated
		// stream, not an error status.
		_ = e.writeBlob(bw, b, b.recordCount()/2)
		_, _ = bw.WriteString(`{"CreationTime":"20`)
		_ = bw.Flush()
		dropConn(w, true)
		return
	}
	e.count(func(s *Stats) { s.BlobDownloads++ })
	if err := e.writeBlob(bw, b, -1); err != nil {
		return // the client went away
	}
	_ = bw.Flush()
}
