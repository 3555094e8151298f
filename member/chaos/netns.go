package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Net is the test's own network: a bridge in the host's namespace and one
// namespace per member, each joined to the bridge by a veth pair, on an
// address range of the run's own. Partitions are blackhole routes inside
// the members' namespaces (each side drops what it sends to the other);
// latency and loss are tc qdiscs on a member's interface.
type Net struct {
	tag    string
	subnet string // "10.231.N"
	bridge string
	ns     []string
	netem  bool // the kernel has sch_netem
}

// ip runs the ip command.
func ip(args ...string) error { return run("ip", args...) }

func run(name string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// SetupNet makes n namespaces on subnet 10.231.<octet>.0/24: member k is
// 10.231.<octet>.<k+1>, the host side of the bridge .254. On any error
// what was made is removed.
func SetupNet(n int, octet int) (_ *Net, err error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("chaos: no ip command (iproute2): %w", err)
	}
	nt := &Net{tag: fmt.Sprintf("ewrc%d", octet), subnet: fmt.Sprintf("10.231.%d", octet)}
	nt.bridge = nt.tag + "br"
	defer func() {
		if err != nil {
			nt.Close()
		}
	}()
	if err := ip("link", "add", nt.bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	if err := ip("addr", "add", nt.subnet+".254/24", "dev", nt.bridge); err != nil {
		return nil, err
	}
	if err := ip("link", "set", nt.bridge, "up"); err != nil {
		return nil, err
	}
	for k := range n {
		ns := fmt.Sprintf("%s-%d", nt.tag, k)
		if err := ip("netns", "add", ns); err != nil {
			return nil, err
		}
		nt.ns = append(nt.ns, ns)
		veth := fmt.Sprintf("%sv%d", nt.tag, k)
		for _, args := range [][]string{
			{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
			{"link", "set", veth, "master", nt.bridge, "up"},
			{"-n", ns, "addr", "add", nt.Host(k) + "/24", "dev", "eth0"},
			{"-n", ns, "link", "set", "eth0", "up"},
			{"-n", ns, "link", "set", "lo", "up"},
		} {
			if err := ip(args...); err != nil {
				return nil, err
			}
		}
	}
	// Does the kernel have netem? Try it on the first member, then clear.
	if run("ip", "netns", "exec", nt.ns[0], "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "1ms") == nil {
		nt.netem = true
		_ = run("ip", "netns", "exec", nt.ns[0], "tc", "qdisc", "del", "dev", "eth0", "root")
	}
	return nt, nil
}

// Host is member k's address.
func (nt *Net) Host(k int) string { return fmt.Sprintf("%s.%d", nt.subnet, k+1) }

// Namespace is member k's namespace.
func (nt *Net) Namespace(k int) string { return nt.ns[k] }

// Netem reports whether latency and loss come from tc netem (else from a
// token-bucket rate limit, the one shaping this kernel has).
func (nt *Net) Netem() bool { return nt.netem }

// Command is name run in member k's namespace.
func (nt *Net) Command(k int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", nt.ns[k], name}, args...)...)
}

// Cut makes the members of a and those of b unreachable from each other.
func (nt *Net) Cut(a, b []int) error {
	var errs []error
	for _, i := range a {
		for _, j := range b {
			errs = append(errs, ip("-n", nt.ns[i], "route", "add", "blackhole", nt.Host(j)+"/32"),
				ip("-n", nt.ns[j], "route", "add", "blackhole", nt.Host(i)+"/32"))
		}
	}
	return errors.Join(errs...)
}

// Degrade adds latency and loss to member k's link (netem), or where the
// kernel has no netem, limits it to a slow rate whose queue delays it.
func (nt *Net) Degrade(k int, delayMs, lossPct int) error {
	if nt.netem {
		return run("ip", "netns", "exec", nt.ns[k], "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
			"delay", fmt.Sprintf("%dms", delayMs), fmt.Sprintf("%dms", delayMs/4), "loss", fmt.Sprintf("%d%%", lossPct))
	}
	return run("ip", "netns", "exec", nt.ns[k], "tc", "qdisc", "add", "dev", "eth0", "root", "tbf",
		"rate", "2mbit", "burst", "8kb", "latency", fmt.Sprintf("%dms", delayMs))
}

// Heal removes every cut and every qdisc.
func (nt *Net) Heal() error {
	var errs []error
	for k, ns := range nt.ns {
		for j := range nt.ns {
			if j != k {
				_ = ip("-n", ns, "route", "del", "blackhole", nt.Host(j)+"/32")
			}
		}
		_ = run("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "eth0", "root")
	}
	return errors.Join(errs...)
}

// Close removes the namespaces and the bridge.
func (nt *Net) Close() {
	for _, ns := range nt.ns {
		_ = ip("netns", "del", ns)
	}
	nt.ns = nil
	_ = ip("link", "del", nt.bridge)
}
