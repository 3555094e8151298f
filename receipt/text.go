package receipt

import "fmt"

// Enums print as their names in JSON (the API, genesis files, proof
// bundles); the canonical encoding stores their numbers.

// EnumText parses name into one of n values of an enum whose String
// method names them; values run from 1 to n.
func EnumText[T ~uint8](name string, n T, kind string) (T, error) {
	if name == "" {
		return 0, nil // the zero value: unset
	}
	for v := T(1); v <= n; v++ {
		if fmt.Sprint(v) == name {
			return v, nil
		}
	}
	return 0, fmt.Errorf("receipt: unknown %s %q", kind, name)
}

// EnumMarshal is the text of an enum value: its name, or "" for the zero
// value (unset).
func EnumMarshal[T interface {
	~uint8
	fmt.Stringer
}](v T) ([]byte, error) {
	if v == 0 {
		return []byte{}, nil
	}
	return []byte(v.String()), nil
}

func (s State) MarshalText() ([]byte, error) { return EnumMarshal(s) }
func (s *State) UnmarshalText(b []byte) (err error) {
	*s, err = EnumText(string(b), StateVoid, "state")
	return
}

func (s PledgeStatus) MarshalText() ([]byte, error) { return EnumMarshal(s) }
func (s *PledgeStatus) UnmarshalText(b []byte) (err error) {
	*s, err = EnumText(string(b), PledgeLapsed, "pledge status")
	return
}

func (s ParticipantStatus) MarshalText() ([]byte, error) { return EnumMarshal(s) }
func (s *ParticipantStatus) UnmarshalText(b []byte) (err error) {
	*s, err = EnumText(string(b), ParticipantSuspended, "participant status")
	return
}

func (c FreezeCause) String() string               { return causeName(c) }
func (c FreezeCause) MarshalText() ([]byte, error) { return EnumMarshal(c) }
func (c *FreezeCause) UnmarshalText(b []byte) (err error) {
	*c, err = EnumText(string(b), FreezeByBreach, "freeze cause")
	return
}
