package snmp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MIB resolves object names to numeric OIDs and back. It starts from the
// built-in table of standard objects and grows with the MIB files loaded
// into it. It is safe for concurrent use.
type MIB struct {
	mu    sync.RWMutex
	names map[string]string // name → numeric OID
	byOID map[string]string // numeric OID → name, for showing walks
}

// NewMIB returns a MIB holding the built-in table.
func NewMIB() *MIB {
	m := &MIB{names: make(map[string]string, len(builtin)), byOID: make(map[string]string, len(builtin))}
	for n, o := range builtin {
		m.add(n, o)
	}
	return m
}

func (m *MIB) add(name, oid string) {
	if _, ok := m.names[name]; ok {
		return // the first definition wins: built-ins before files
	}
	m.names[name] = oid
	if _, ok := m.byOID[oid]; !ok {
		m.byOID[oid] = name
	}
}

// Len is the number of names known.
func (m *MIB) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.names)
}

// DefaultMIBDir is where Debian's net-snmp keeps its MIB files.
const DefaultMIBDir = "/usr/share/snmp/mibs"

// Bounds on MIB input: files are read from a directory an operator fills,
// but a stray binary or a huge file must not stall the start.
const (
	maxMIBFileBytes = 4 << 20
	maxMIBFiles     = 2000
	maxOIDArcs      = 128
)

// LoadDir parses every file of dir (not its subdirectories) and adds the
// names they define. Names that refer to a parent defined in another file
// resolve whatever the order of the files. It returns how many names were
// added; a file that cannot be read or parsed is named in the error, the
// others still load.
func (m *MIB) LoadDir(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("reading MIB directory: %w", err)
	}
	var defs []mibDef
	var errs []error
	n := 0
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if n++; n > maxMIBFiles {
			errs = append(errs, fmt.Errorf("%s: more than %d files, the rest are skipped", dir, maxMIBFiles))
			break
		}
		path := filepath.Join(dir, e.Name())
		d, err := parseMIBFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defs = append(defs, d...)
	}
	return m.addDefs(defs), errors.Join(errs...)
}

// Load parses one MIB module from r and adds its names.
func (m *MIB) Load(r io.Reader) (int, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxMIBFileBytes+1))
	if err != nil {
		return 0, err
	}
	if len(b) > maxMIBFileBytes {
		return 0, fmt.Errorf("MIB larger than %d bytes", maxMIBFileBytes)
	}
	defs, err := ParseMIB(b)
	if err != nil {
		return 0, err
	}
	return m.addDefs(defs), nil
}

func parseMIBFile(path string) ([]mibDef, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMIBFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxMIBFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes, skipped", path, maxMIBFileBytes)
	}
	defs, err := ParseMIB(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return defs, nil
}

// addDefs resolves definitions against what is known and against each
// other, in as many passes as the chains need.
func (m *MIB) addDefs(defs []mibDef) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	added := 0
	for pending := defs; len(pending) > 0; {
		var next []mibDef
		for _, d := range pending {
			base, ok := m.names[d.parent]
			if d.parent == "" {
				base, ok = "", true
			}
			if !ok {
				next = append(next, d)
				continue
			}
			oid := base
			for _, a := range d.arcs {
				if oid != "" {
					oid += "."
				}
				oid += strconv.FormatUint(uint64(a), 10)
			}
			if oid == "" || strings.Count(oid, ".") >= maxOIDArcs {
				continue
			}
			if _, dup := m.names[d.name]; !dup {
				added++
			}
			m.add(d.name, oid)
		}
		if len(next) == len(pending) {
			break // the rest hang from names nobody defines
		}
		pending = next
	}
	return added
}

// Resolve turns what a user wrote into a numeric OID (no leading dot):
// "1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.1.3.0", "sysUpTime.0",
// "ifHCInOctets.2", "IF-MIB::ifHCInOctets.2".
func (m *MIB) Resolve(s string) (string, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return "", fmt.Errorf("empty OID")
	}
	if _, after, ok := strings.Cut(in, "::"); ok {
		in = after
	}
	t := strings.TrimPrefix(in, ".")
	if t != "" && t[0] >= '0' && t[0] <= '9' {
		if err := checkNumeric(t); err != nil {
			return "", fmt.Errorf("OID %q: %w", s, err)
		}
		return t, nil
	}
	name, index, dotted := strings.Cut(t, ".")
	if dotted && index == "" {
		return "", fmt.Errorf("OID %q: empty arc after the name", s)
	}
	m.mu.RLock()
	base, ok := m.names[name]
	m.mu.RUnlock()
	if !ok {
		return "", fmt.Errorf("OID %q: unknown name %q (use a numeric OID, a built-in name such as ifHCInOctets, or load its MIB)", s, name)
	}
	if index == "" {
		return base, nil
	}
	if err := checkNumeric(index); err != nil {
		return "", fmt.Errorf("OID %q: index %q: %w", s, index, err)
	}
	return base + "." + index, nil
}

func checkNumeric(s string) error {
	parts := strings.Split(s, ".")
	if len(parts) > maxOIDArcs {
		return fmt.Errorf("more than %d arcs", maxOIDArcs)
	}
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("empty arc")
		}
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return fmt.Errorf("arc %q is not a number below 2^32", p)
		}
	}
	return nil
}

// Name shows a numeric OID with the longest known name in front:
// "1.3.6.1.2.1.2.2.1.2.1" is "ifDescr.1".
func (m *MIB) Name(oid string) string {
	oid = strings.TrimPrefix(oid, ".")
	m.mu.RLock()
	defer m.mu.RUnlock()
	for p := oid; p != ""; {
		if n, ok := m.byOID[p]; ok {
			return n + oid[len(p):]
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return oid
}

// Names lists the known names, sorted, for the console's completion.
func (m *MIB) Names() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.names))
	for n := range m.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var (
	defaultMIB     *MIB
	defaultMIBOnce sync.Once
	defaultMIBErr  error
	extraMIBDirs   []string
)

// SetMIBDirs names directories of MIB files loaded, besides net-snmp's,
// into the default MIB. It must be called before the first Default.
func SetMIBDirs(dirs []string) { extraMIBDirs = dirs }

// Default is the process-wide MIB: the built-in table, net-snmp's MIBs and
// the configured directories, loaded once on first use. A file that does
// not parse is skipped (its names then do not resolve, which Resolve
// says); DefaultLoadError tells which.
func Default() *MIB {
	defaultMIBOnce.Do(func() {
		defaultMIB = NewMIB()
		var errs []error
		if _, err := os.Stat(DefaultMIBDir); err == nil {
			if _, err := defaultMIB.LoadDir(DefaultMIBDir); err != nil {
				errs = append(errs, err)
			}
		}
		for _, d := range extraMIBDirs {
			if _, err := defaultMIB.LoadDir(d); err != nil {
				errs = append(errs, err)
			}
		}
		defaultMIBErr = errors.Join(errs...)
	})
	return defaultMIB
}

// DefaultLoadError is what went wrong loading the default MIB's files.
func DefaultLoadError() error {
	Default()
	return defaultMIBErr
}
