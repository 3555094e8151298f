package warehouse

import "github.com/ewrchain/ewr/receipt"

// Enums print as their names in JSON; the canonical encoding stores numbers.

func (s Status) MarshalText() ([]byte, error) { return receipt.EnumMarshal(s) }
func (s *Status) UnmarshalText(b []byte) (err error) {
	*s, err = receipt.EnumText(string(b), Suspended, "status")
	return
}

func (t DeviceType) MarshalText() ([]byte, error) { return receipt.EnumMarshal(t) }
func (t *DeviceType) UnmarshalText(b []byte) (err error) {
	*t, err = receipt.EnumText(string(b), DoorSeal, "device type")
	return
}

func (h Health) MarshalText() ([]byte, error) { return receipt.EnumMarshal(h) }
func (h *Health) UnmarshalText(b []byte) (err error) {
	*h, err = receipt.EnumText(string(b), HealthAlarm, "health")
	return
}

func (s LotStatus) MarshalText() ([]byte, error) { return receipt.EnumMarshal(s) }
func (s *LotStatus) UnmarshalText(b []byte) (err error) {
	*s, err = receipt.EnumText(string(b), LotReleased, "lot status")
	return
}

func (s ROStatus) MarshalText() ([]byte, error) { return receipt.EnumMarshal(s) }
func (s *ROStatus) UnmarshalText(b []byte) (err error) {
	*s, err = receipt.EnumText(string(b), ROCancelled, "release order status")
	return
}

func (d Direction) MarshalText() ([]byte, error) { return receipt.EnumMarshal(d) }
func (d *Direction) UnmarshalText(b []byte) (err error) {
	*d, err = receipt.EnumText(string(b), Out, "direction")
	return
}
