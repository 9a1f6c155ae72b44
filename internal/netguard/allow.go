package netguard

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseAllow parses IKQ_FETCH_ALLOW: comma-separated host names, IPs and CIDRs
// ("minio, 10.0.0.0/8, ::1"). Blank entries are skipped. It returns the entries
// normalised (CIDRs masked, IPv4-mapped forms as IPv4, names lower case) and
// refuses an entry that is none of the three, naming it.
func ParseAllow(s string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		p, host, err := parseEntry(e)
		if err != nil {
			return nil, err
		}
		if host != "" {
			out = append(out, host)
		} else {
			out = append(out, p.String())
		}
	}
	return out, nil
}

// parseEntry reads one allow entry: a prefix for an IP or CIDR, else a host name.
func parseEntry(s string) (netip.Prefix, string, error) {
	bad := func(why string) error { return fmt.Errorf("netguard: allow entry %q: %s", s, why) }
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, "", bad("not a valid CIDR")
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), "", nil
	}
	ipText := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if ip, err := netip.ParseAddr(ipText); err == nil {
		if ip.Zone() != "" {
			return netip.Prefix{}, "", bad("an IPv6 zone is not allowed")
		}
		ip = ip.Unmap()
		return netip.PrefixFrom(ip, ip.BitLen()), "", nil
	}
	if strings.Contains(s, ":") {
		return netip.Prefix{}, "", bad("not a host name, IP or CIDR (no scheme or port)")
	}
	host := strings.TrimSuffix(strings.ToLower(s), ".")
	if !validHost(host) {
		return netip.Prefix{}, "", bad("not a host name, IP or CIDR")
	}
	return netip.Prefix{}, host, nil
}

// validHost says whether s is a host name: dot-separated labels of letters,
// digits, '-' and '_' (Compose service names have them), 1 to 63 characters,
// at most 253 in all, the last not all digits (that would be a bad IPv4).
func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}
