package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// TestSyncAlwaysLeavesNoDirtyPages proves the half of durability a SIGKILL
// cannot: that when a publish is acked its bytes are on the device, not only
// in the page cache, where a power cut or kernel panic would lose them.
//
// It asks the kernel directly. After the acks, it maps the stream's message
// block files and looks up each page's flags in /proc/kpageflags: a page that
// is dirty or under writeback holds data the disk does not have yet. As a
// control, the same publishes against a nats-server with its stock settings
// (fsync every two minutes) must leave dirty pages; if they do not, the
// method cannot see anything here and the test skips instead of passing
// vacuously. Then, with StartEmbedded's sync-always, no page of the block
// files may be dirty. Needs Linux, root (PFNs and kpageflags), and a
// disk-backed temp dir (tmpfs pages are always dirty).
func TestSyncAlwaysLeavesNoDirtyPages(t *testing.T) {
	if testing.Short() {
		t.Skip("inspects the page cache")
	}
	probeKpageflags(t)
	const n = 300

	// Control: stock nats-server durability.
	stockDir := t.TempDir()
	skipOnTmpfs(t, stockDir)
	stock := startStockServer(t, stockDir)
	_, js := connectJS(t, stock.ClientURL())
	publishAcked(t, js, n)
	dirty, pages := dirtyBlockPages(t, stockDir)
	t.Logf("stock settings: %d of %d block pages dirty after %d acked publishes", dirty, pages, n)
	if dirty == 0 {
		t.Skip("control saw no dirty pages (writeback already ran, or the filesystem hides it): cannot tell sync from no sync here")
	}

	// The embedded server: every acked byte is on the device.
	s := startServer(t)
	_, js = connectJS(t, s.ClientURL())
	publishAcked(t, js, n)
	dirty, pages = dirtyBlockPages(t, s.StoreDir())
	t.Logf("sync always: %d of %d block pages dirty after %d acked publishes", dirty, pages, n)
	require.Positive(t, pages)
	require.Zero(t, dirty, "acked readings still only in the page cache: sync always is not in effect")
}

func publishAcked(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	ctx := testCtx(t)
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}))
	subj := reading(t, "wh1", "bay-1", "lc-1", KindWeight)
	for i := range n {
		_, _, err := Publish(ctx, js, subj, ReadingMsgID("lc-1", 1, uint64(i)), payload(i, 200))
		require.NoError(t, err)
	}
}

// dirtyBlockPages counts dirty-or-writeback pages of the readings stream's
// message block files under storeDir.
func dirtyBlockPages(t *testing.T, storeDir string) (dirty, pages int) {
	t.Helper()
	blks, err := filepath.Glob(filepath.Join(storeDir, "jetstream", "*", "streams", ReadingsStream, "msgs", "*.blk"))
	require.NoError(t, err)
	require.NotEmpty(t, blks, "no message blocks under %s", storeDir)
	for _, blk := range blks {
		d, p, err := dirtyFilePages(blk)
		require.NoError(t, err, blk)
		dirty += d
		pages += p
	}
	return dirty, pages
}

const (
	kpfDirty     = 1 << 4 // include/uapi/linux/kernel-page-flags.h
	kpfWriteback = 1 << 8
	pmPresent    = 1 << 63 // Documentation/admin-guide/mm/pagemap.rst
	pmPFNMask    = 1<<55 - 1
)

// dirtyFilePages maps path read-only, faults every page in, and reads the
// page-cache flags of each page through /proc/self/pagemap → /proc/kpageflags.
func dirtyFilePages(path string) (dirty, pages int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size := int(fi.Size())
	if size == 0 {
		return 0, 0, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return 0, 0, err
	}
	defer syscall.Munmap(data)

	pm, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return 0, 0, err
	}
	defer pm.Close()
	kpf, err := os.Open("/proc/kpageflags")
	if err != nil {
		return 0, 0, err
	}
	defer kpf.Close()

	psz := os.Getpagesize()
	base := uintptr(unsafe.Pointer(&data[0]))
	var buf [8]byte
	for off := 0; off < size; off += psz {
		pageSink ^= data[off] // fault the page in so pagemap has a PFN
		vpn := (base + uintptr(off)) / uintptr(psz)
		if _, err := pm.ReadAt(buf[:], int64(vpn)*8); err != nil {
			return 0, 0, fmt.Errorf("pagemap: %w", err)
		}
		e := binary.LittleEndian.Uint64(buf[:])
		pfn := e & pmPFNMask
		if e&pmPresent == 0 || pfn == 0 {
			return 0, 0, fmt.Errorf("page at %d not present or PFN hidden (entry %#x)", off, e)
		}
		if _, err := kpf.ReadAt(buf[:], int64(pfn)*8); err != nil {
			return 0, 0, fmt.Errorf("kpageflags: %w", err)
		}
		if binary.LittleEndian.Uint64(buf[:])&(kpfDirty|kpfWriteback) != 0 {
			dirty++
		}
		pages++
	}
	return dirty, pages, nil
}

// pageSink keeps the faulting reads from being optimised away.
var pageSink byte

func probeKpageflags(t *testing.T) {
	t.Helper()
	f, err := os.Open("/proc/kpageflags")
	if err != nil {
		t.Skipf("cannot read page flags (needs root on Linux): %v", err)
	}
	defer f.Close()
	var b [8]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		t.Skipf("cannot read page flags: %v", err)
	}
	pm, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skipf("cannot read pagemap: %v", err)
	}
	pm.Close()
}

func skipOnTmpfs(t *testing.T, dir string) {
	t.Helper()
	const tmpfsMagic = 0x01021994
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Skipf("statfs %s: %v", dir, err)
	}
	if st.Type == tmpfsMagic {
		t.Skip(errors.New("temp dir is on tmpfs: its pages are never written back, so dirty says nothing"))
	}
}
