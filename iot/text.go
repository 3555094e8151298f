package iot

import "github.com/ewrchain/ewr/receipt"

// Enums print as their names in JSON; the canonical encoding stores numbers.

func (k AlertKind) MarshalText() ([]byte, error) { return receipt.EnumMarshal(k) }
func (k *AlertKind) UnmarshalText(b []byte) (err error) {
	*k, err = receipt.EnumText(string(b), AlertLoadOut, "alert kind")
	return
}

func (s AlertStatus) MarshalText() ([]byte, error) { return receipt.EnumMarshal(s) }
func (s *AlertStatus) UnmarshalText(b []byte) (err error) {
	*s, err = receipt.EnumText(string(b), AlertSuperseded, "alert status")
	return
}
