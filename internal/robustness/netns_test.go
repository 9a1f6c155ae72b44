package robustness

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// labPrefix starts the name of every namespace a netLab makes, followed by the pid
// of the test binary that made it, so that a later run can remove what a killed run
// left behind.
const labPrefix = "ikqlab-"

// netLab is a small network of hosts, each a Linux network namespace with one veth
// link to a bridge in a namespace of its own (the switch). The test process joins it
// too, through a veth link of the root namespace, so it serves sources to the hosts
// and reaches their servers. Cutting a host's link at the switch is a partition: the
// host's packets go nowhere, and nothing tells its connections so.
type netLab struct {
	name   string // labPrefix + pid + random: unique per run
	subnet string // the first three octets, e.g. "10.213.7"
	sw     string // the switch's namespace
	rootIP string // the test process's address on the lab's network
	hosts  int
}

// labHost is one namespace of a netLab.
type labHost struct {
	Name string // as the test calls it
	NS   string // the namespace
	IP   string // its address on the lab's network
	port string // its link's end on the switch
}

// requireNetns skips the test unless it can make network namespaces (root, the ip
// command). CI runs as root, so there a missing piece fails the test instead.
func requireNetns(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "it must run as root to make network namespaces"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "the ip command (iproute2) is not on PATH"
	} else if _, err := exec.LookPath("redis-server"); err != nil {
		why = "redis-server is not on PATH"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("a network-namespace test: %s (CI=true makes this a failure)", why)
	}
	t.Skipf("a network-namespace test: %s", why)
}

// ip runs the ip command.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// newNetLab makes the switch and the test process's link to it. Everything it and
// addHost make is removed at the test's cleanup, after the processes started later
// have been killed.
func newNetLab(t *testing.T) *netLab {
	t.Helper()
	removeStaleLabs(t)
	subnet, err := freeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	l := &netLab{
		name:   fmt.Sprintf("%s%d-%04x", labPrefix, os.Getpid(), rand.IntN(1<<16)),
		subnet: subnet,
		rootIP: subnet + ".254",
	}
	l.sw = l.name + "-sw"
	l.addNamespace(t, l.sw)
	// The root end's name must be unique in the root namespace; deleting the switch's
	// namespace deletes the pair.
	rootLink := fmt.Sprintf("ikq%08x", rand.Uint32())
	l.must(t,
		[]string{"-n", l.sw, "link", "add", "name", "br0", "type", "bridge"},
		[]string{"-n", l.sw, "link", "set", "br0", "up"},
		[]string{"link", "add", "name", rootLink, "type", "veth", "peer", "name", "root", "netns", l.sw},
	)
	t.Cleanup(func() { _ = ip("link", "del", rootLink) }) // gone already, unless the switch's namespace lingers
	l.must(t,
		[]string{"-n", l.sw, "link", "set", "root", "master", "br0", "up"},
		[]string{"addr", "add", l.rootIP + "/24", "dev", rootLink},
		[]string{"link", "set", rootLink, "up"},
	)
	return l
}

// addHost makes a namespace linked to the switch, at the lab's next address.
func (l *netLab) addHost(t *testing.T, name string) *labHost {
	t.Helper()
	l.hosts++
	h := &labHost{
		Name: name,
		NS:   fmt.Sprintf("%s-%d", l.name, l.hosts),
		IP:   fmt.Sprintf("%s.%d", l.subnet, l.hosts),
		port: fmt.Sprintf("h%d", l.hosts),
	}
	l.addNamespace(t, h.NS)
	l.must(t,
		[]string{"-n", h.NS, "link", "set", "lo", "up"},
		[]string{"link", "add", "name", "eth0", "netns", h.NS, "type", "veth", "peer", "name", h.port, "netns", l.sw},
		[]string{"-n", l.sw, "link", "set", h.port, "master", "br0", "up"},
		[]string{"-n", h.NS, "addr", "add", h.IP + "/24", "dev", "eth0"},
		[]string{"-n", h.NS, "link", "set", "eth0", "up"},
	)
	return h
}

// cut takes h's link down at the switch: the host keeps its address and routes, and
// what it sends is lost.
func (l *netLab) cut(t *testing.T, h *labHost) {
	t.Helper()
	l.must(t, []string{"-n", l.sw, "link", "set", h.port, "down"})
}

// heal brings h's link back up.
func (l *netLab) heal(t *testing.T, h *labHost) {
	t.Helper()
	l.must(t, []string{"-n", l.sw, "link", "set", h.port, "up"})
}

func (l *netLab) addNamespace(t *testing.T, ns string) {
	t.Helper()
	if err := ip("netns", "add", ns); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("cannot make a network namespace here: %v", err)
	}
	t.Cleanup(func() {
		if err := ip("netns", "del", ns); err != nil {
			t.Errorf("removing the lab: %v", err)
		}
	})
}

func (l *netLab) must(t *testing.T, cmds ...[]string) {
	t.Helper()
	for _, args := range cmds {
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}
}

// command runs bin with args in h's namespace.
func (h *labHost) command(bin string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, bin}, args...)...)
}

// listen listens on the test process's address in the lab, where every host reaches it.
func (l *netLab) listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(l.rootIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// freeSubnet picks a /24 in 10.200.0.0/13 that no route of the root namespace covers.
func freeSubnet() (string, error) {
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return "", fmt.Errorf("ip route: %w", err)
	}
	var taken []*net.IPNet
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		dst := f[0]
		if dst == "local" || dst == "broadcast" || dst == "unicast" {
			if len(f) < 2 {
				continue
			}
			dst = f[1]
		}
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		if _, n, err := net.ParseCIDR(dst); err == nil && n.IP.To4() != nil {
			if ones, _ := n.Mask.Size(); ones > 0 { // a default route covers nothing here
				taken = append(taken, n)
			}
		}
	}
	for range 100 {
		subnet := fmt.Sprintf("10.%d.%d", 200+rand.IntN(8), rand.IntN(256))
		_, mine, _ := net.ParseCIDR(subnet + ".0/24")
		if !overlaps(mine, taken) {
			return subnet, nil
		}
	}
	return "", errors.New("no free /24 in 10.200.0.0/13")
}

func overlaps(n *net.IPNet, others []*net.IPNet) bool {
	for _, o := range others {
		if o.Contains(n.IP) || n.Contains(o.IP) {
			return true
		}
	}
	return false
}

// removeStaleLabs removes the namespaces of labs whose test binary has died (killed,
// or timed out before its cleanup ran).
func removeStaleLabs(t *testing.T) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], labPrefix) {
			continue
		}
		pidText, _, _ := strings.Cut(strings.TrimPrefix(f[0], labPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		if err := ip("netns", "del", f[0]); err != nil {
			t.Logf("removing a stale lab namespace: %v", err)
		}
	}
}
