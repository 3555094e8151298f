package bus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Subject roots and stream names. See doc.go for the scheme.
const (
	ReadingsRoot   = "ewr.readings"
	EventsRoot     = "ewr.events"
	ReadingsStream = "EWR_READINGS"
	EventsStream   = "EWR_EVENTS"
)

// Reading kinds in use. Kinds are free-form tokens; these are the ones the
// supervisor's rules know.
const (
	KindWeight    = "weight"
	KindTicket    = "ticket"
	KindMotion    = "motion"
	KindSeal      = "seal"
	KindHeartbeat = "heartbeat"
)

// Limits on names.
const (
	// MaxTokenLen bounds one subject token (warehouse, bay, device, kind,
	// event type, durable name).
	MaxTokenLen = 64
	// MaxMsgIDLen bounds a Nats-Msg-Id; the server keeps every id of the
	// duplicates window in memory.
	MaxMsgIDLen = 128
	// maxSubjectLen bounds a whole subject: root plus five maximal tokens.
	maxSubjectLen = len(ReadingsRoot) + 5*(MaxTokenLen+1)
)

var (
	// ErrInvalidToken rejects a subject token that is empty, too long or has a
	// byte outside [A-Za-z0-9_-].
	ErrInvalidToken = errors.New("bus: invalid subject token")
	// ErrInvalidSubject rejects a subject outside the ewr scheme.
	ErrInvalidSubject = errors.New("bus: invalid subject")
	// ErrInvalidMsgID rejects an empty, oversize or non-printable message id.
	ErrInvalidMsgID = errors.New("bus: invalid message id")
)

// ValidToken reports whether tok may be one token of an ewr subject: 1 to
// MaxTokenLen bytes of ASCII letters, digits, '-' and '_'. That excludes
// the NATS separators and wildcards ('.', '*', '>') and whitespace.
func ValidToken(tok string) bool {
	if len(tok) == 0 || len(tok) > MaxTokenLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func checkTokens(what []string, toks ...string) error {
	for i, tok := range toks {
		if !ValidToken(tok) {
			return fmt.Errorf("%w: %s %q", ErrInvalidToken, what[i], tok)
		}
	}
	return nil
}

var readingTokenNames = []string{"warehouse", "bay", "device", "kind"}

// ReadingSubject returns ewr.readings.<warehouse>.<bay>.<device>.<kind>, or
// ErrInvalidToken naming the first bad token.
func ReadingSubject(warehouse, bay, device, kind string) (string, error) {
	if err := checkTokens(readingTokenNames, warehouse, bay, device, kind); err != nil {
		return "", err
	}
	return ReadingsRoot + "." + warehouse + "." + bay + "." + device + "." + kind, nil
}

// ParseReadingSubject splits a reading subject into its tokens. It is the
// inverse of ReadingSubject.
func ParseReadingSubject(subject string) (warehouse, bay, device, kind string, err error) {
	rest, ok := strings.CutPrefix(subject, ReadingsRoot+".")
	if !ok || len(subject) > maxSubjectLen {
		return "", "", "", "", fmt.Errorf("%w: %q is not a reading subject", ErrInvalidSubject, subject)
	}
	toks := strings.Split(rest, ".")
	if len(toks) != 4 {
		return "", "", "", "", fmt.Errorf("%w: %q has %d tokens after %s, want 4", ErrInvalidSubject, subject, len(toks), ReadingsRoot)
	}
	if err := checkTokens(readingTokenNames, toks...); err != nil {
		return "", "", "", "", err
	}
	return toks[0], toks[1], toks[2], toks[3], nil
}

// ReadingFilter returns a consumer filter over reading subjects; an empty
// argument matches any token in that position. ReadingFilter("wh1", "", "",
// "") is what a per-warehouse supervisor consumes.
func ReadingFilter(warehouse, bay, device, kind string) (string, error) {
	toks := []string{warehouse, bay, device, kind}
	for i, tok := range toks {
		if tok == "" {
			toks[i] = "*"
			continue
		}
		if !ValidToken(tok) {
			return "", fmt.Errorf("%w: %s %q", ErrInvalidToken, readingTokenNames[i], tok)
		}
	}
	if toks[1] == "*" && toks[2] == "*" && toks[3] == "*" {
		// Same set of subjects, and the server matches ">" faster.
		if toks[0] == "*" {
			return ReadingsRoot + ".>", nil
		}
		return ReadingsRoot + "." + toks[0] + ".>", nil
	}
	return ReadingsRoot + "." + strings.Join(toks, "."), nil
}

// EventSubject returns ewr.events.<type> for a chain event type; a dotted
// type ("receipt.frozen") is one subject token per part, so a subscriber
// can take ewr.events.receipt.> for every receipt event.
func EventSubject(eventType string) (string, error) {
	parts := strings.Split(eventType, ".")
	for _, p := range parts {
		if err := checkTokens([]string{"event type"}, p); err != nil {
			return "", err
		}
	}
	return EventsRoot + "." + eventType, nil
}

// ReadingMsgID returns the deduplication id of a device's reading:
// "<device>:<epoch>:<seq>". Device ids are subject tokens, which cannot
// contain ':', so the id names exactly one (device, boot epoch, seq): a
// device that restarted counts its sequence afresh in a new epoch.
func ReadingMsgID(device string, epoch, seq uint64) string {
	return device + ":" + strconv.FormatUint(epoch, 10) + ":" + strconv.FormatUint(seq, 10)
}

// streamForSubject names the stream that must store a publish on subject, so
// a publish fails rather than land in some other stream.
func streamForSubject(subject string) (string, error) {
	if len(subject) > maxSubjectLen {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidSubject, len(subject), maxSubjectLen)
	}
	var stream, rest string
	if r, ok := strings.CutPrefix(subject, ReadingsRoot+"."); ok {
		stream, rest = ReadingsStream, r
	} else if r, ok := strings.CutPrefix(subject, EventsRoot+"."); ok {
		stream, rest = EventsStream, r
	} else {
		return "", fmt.Errorf("%w: %q is under neither %s nor %s", ErrInvalidSubject, subject, ReadingsRoot, EventsRoot)
	}
	for tok := range strings.SplitSeq(rest, ".") {
		if !ValidToken(tok) {
			return "", fmt.Errorf("%w: %q: token %q", ErrInvalidSubject, subject, tok)
		}
	}
	return stream, nil
}

func checkMsgID(id string) error {
	if len(id) == 0 || len(id) > MaxMsgIDLen {
		return fmt.Errorf("%w: length %d, want 1..%d", ErrInvalidMsgID, len(id), MaxMsgIDLen)
	}
	for i := 0; i < len(id); i++ {
		// Printable ASCII without space: it travels in a header line.
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: byte %#x at %d", ErrInvalidMsgID, c, i)
		}
	}
	return nil
}
