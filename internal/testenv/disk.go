// Package testenv holds helpers that tests of several packages share to
// reach real parts of this machine.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Need skips the test when what it needs is missing, except under CI=true,
// where a missing part is a failure: CI must run every test.
func Need(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: no test may skip)", what)
	}
	t.Skip(what)
}

// SmallDisk mounts a tmpfs of size bytes for the test and unmounts it at
// the end: a real file system that really fills up. It needs root (CI runs
// as root here).
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	Need(t, os.Geteuid() == 0, "needs root to mount a small tmpfs")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting the tmpfs: %v: %s", err, out)
		}
	})
	return dir
}

// Free is the space available on the file system of dir.
func Free(t testing.TB, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// Fill writes a file that leaves about leave bytes free on dir's file
// system, and returns its path (remove it to free the space).
func Fill(t testing.TB, dir string, leave int64) string {
	t.Helper()
	free := Free(t, dir)
	p := filepath.Join(dir, "ballast")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<16)
	for n := int64(0); n < free-leave; n += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			break // ENOSPC: as full as it gets
		}
	}
	return p
}
