package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ewrchain/ewr/receipt"
)

func init() {
	register(&command{name: "keys", summary: "signing keys kept outside the node: new, list", run: runKeys})
}

// keyFile is a participant's signing key on disk (mode 0600). The private
// key is the ed25519 seed; nothing ever prints it.
//
// A device's key file names the device instead, and where it is bound:
// {"device": "WH-QD-01-LC-01", "warehouse": "WH-QD-01", "bay": "BAY-01",
// "public_key": ..., "private_key": ...} (`ewr keys new --device`); `ewr
// device run` signs its readings with it.
type keyFile struct {
	Participant string `json:"participant,omitempty"`
	Device      string `json:"device,omitempty"`
	Warehouse   string `json:"warehouse,omitempty"`
	Bay         string `json:"bay,omitempty"`
	PublicKey   string `json:"public_key"`
	PrivateKey  string `json:"private_key"`
	Created     string `json:"created"`
}

func defaultKeyDir() string { return filepath.Join(defaultDataDir, "keys") }

func runKeys(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "usage: ewr keys new --participant ID [--dir DIR | --out FILE]\n       ewr keys list [--dir DIR] [--json]")
		if len(args) == 0 {
			return usagef("which keys command?")
		}
		return nil
	}
	switch args[0] {
	case "new":
		return keysNew(args[1:])
	case "list":
		return keysList(args[1:])
	}
	return usagef("unknown keys command %q", args[0])
}

func keysNew(args []string) error {
	fs := newFlags("keys new")
	participant := fs.String("participant", "", "the participant id the key signs for (this or --device)")
	device := fs.String("device", "", "a device id instead: the key a device signs its readings with")
	wh := fs.String("warehouse", "", "with --device: the warehouse the device is bound to")
	bay := fs.String("bay", "", "with --device: its bay (none for a weighbridge)")
	dir := fs.String("dir", defaultKeyDir(), "directory of key files")
	out := fs.String("out", "", "key file to write (default DIR/<participant>.key.json)")
	asJSON := fs.Bool("json", false, "print the public part as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	name := *participant
	switch {
	case *device != "" && (*participant != "" || !receipt.ValidID(*device) || !receipt.ValidID(*wh) || (*bay != "" && !receipt.ValidID(*bay))):
		return usagef("--device takes a valid device id and --warehouse (and --bay), not --participant")
	case *device != "":
		name = *device
	case !receipt.ValidID(*participant):
		return usagef("--participant must be a valid participant id")
	}
	path := *out
	if path == "" {
		path = filepath.Join(*dir, name+".key.json")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists; refusing to overwrite a key", path)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	kf := keyFile{Participant: *participant, Device: *device, Warehouse: *wh, Bay: *bay, PublicKey: hex.EncodeToString(pub), PrivateKey: hex.EncodeToString(priv.Seed()),
		Created: time.Now().UTC().Format(time.RFC3339)}
	raw, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.Marshal(map[string]string{"participant": kf.Participant, "device": kf.Device, "public_key": kf.PublicKey, "file": path})
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "new key for %s in %s (mode 0600)\npublic key %s\n", name, path, kf.PublicKey)
	if kf.Device != "" {
		fmt.Fprintln(stdout, "register it on chain with the consortium admins: ewr device register --id", kf.Device, "--pub-key", kf.PublicKey)
		return nil
	}
	fmt.Fprintln(stdout, "register it on chain with the consortium admins: ewr participant register --id ... --pub-key", kf.PublicKey)
	return nil
}

// loadKeyFile reads a key file and checks its halves agree.
func loadKeyFile(path string) (*keyFile, ed25519.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var kf keyFile
	if err := json.Unmarshal(raw, &kf); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	seed, err := hex.DecodeString(kf.PrivateKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, nil, fmt.Errorf("%s: private key is not a %d-byte hex seed", path, ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if hex.EncodeToString(priv.Public().(ed25519.PublicKey)) != strings.ToLower(kf.PublicKey) {
		return nil, nil, fmt.Errorf("%s: public key does not match the private key", path)
	}
	return &kf, priv, nil
}

func keysList(args []string) error {
	fs := newFlags("keys list")
	dir := fs.String("dir", defaultKeyDir(), "directory of key files")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(*dir, "*.key.json"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	type row struct {
		Participant string `json:"participant"`
		PublicKey   string `json:"public_key"`
		File        string `json:"file"`
		Created     string `json:"created"`
	}
	rows := []row{}
	var bad []error
	for _, f := range files {
		kf, _, err := loadKeyFile(f)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		rows = append(rows, row{cmp.Or(kf.Participant, kf.Device), kf.PublicKey, f, kf.Created})
	}
	if *asJSON {
		b, _ := json.Marshal(map[string]any{"items": rows})
		fmt.Fprintln(stdout, string(b))
	} else if len(rows) == 0 {
		fmt.Fprintf(stdout, "no keys in %s (ewr keys new --participant ID)\n", *dir)
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "PARTICIPANT\tPUBLIC KEY\tCREATED\tFILE")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Participant, r.PublicKey, r.Created, r.File)
		}
		tw.Flush()
	}
	return errors.Join(bad...)
}
