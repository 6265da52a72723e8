// Package emuproc starts and stops emulator processes on loopback for
// tickbeamtest and internal/testenv: where their binaries are, how to start
// them so they never outlive the test binary, and how to wait for their ports.
package emuproc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BigQueryEmulatorVersion is the goccy/bigquery-emulator version
// scripts/emulators.sh builds and caches.
const BigQueryEmulatorVersion = "v0.6.6"

// Install hints, named in the errors of a missing binary.
const (
	PubSubInstall   = "apt-get install google-cloud-cli-pubsub-emulator (or: gcloud components install pubsub-emulator beta)"
	BigQueryInstall = "bash scripts/emulators.sh install in a tickbeam checkout, or CGO_ENABLED=1 CC=clang CXX=clang++ " +
		"go install github.com/goccy/bigquery-emulator/cmd/bigquery-emulator@" + BigQueryEmulatorVersion +
		" and set TICKBEAM_BIGQUERY_EMULATOR to the binary"
)

// ErrMissing wraps the error of a binary that is not installed, so callers
// can tell it from one that failed to start.
type ErrMissing struct{ What, Install string }

func (e *ErrMissing) Error() string {
	return fmt.Sprintf("%s not found: install it with %s", e.What, e.Install)
}

// BigQueryCachePath is where scripts/emulators.sh caches the BigQuery
// emulator: $TICKBEAM_CACHE, else $XDG_CACHE_HOME/tickbeam, else
// ~/.cache/tickbeam, then bin/bigquery-emulator-VERSION.
func BigQueryCachePath() string {
	dir := os.Getenv("TICKBEAM_CACHE")
	if dir == "" {
		if c := os.Getenv("XDG_CACHE_HOME"); c != "" {
			dir = filepath.Join(c, "tickbeam")
		} else {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, ".cache", "tickbeam")
		}
	}
	return filepath.Join(dir, "bin", "bigquery-emulator-"+BigQueryEmulatorVersion)
}

// BigQueryBinary finds the BigQuery emulator: $TICKBEAM_BIGQUERY_EMULATOR
// when set (and then only there), else the cache, else bigquery-emulator on
// the PATH.
func BigQueryBinary() (string, error) {
	if p := os.Getenv("TICKBEAM_BIGQUERY_EMULATOR"); p != "" {
		if isExec(p) {
			return p, nil
		}
		return "", &ErrMissing{What: "BigQuery emulator " + p + " ($TICKBEAM_BIGQUERY_EMULATOR)", Install: BigQueryInstall}
	}
	if p := BigQueryCachePath(); isExec(p) {
		return p, nil
	}
	if p, err := exec.LookPath("bigquery-emulator"); err == nil {
		return p, nil
	}
	return "", &ErrMissing{What: "BigQuery emulator (" + BigQueryCachePath() + ")", Install: BigQueryInstall}
}

// PubSubCommand returns the command that runs the Pub/Sub emulator on
// host:port. It runs the emulator's own launcher from the Cloud SDK when it
// can find it, because that one execs Java: the Java process then is the
// one started here and dies with the test binary. Otherwise it goes through
// gcloud, whose wrapper leaves Java behind if the test binary is killed.
func PubSubCommand(host string, port int, project string) ([]string, error) {
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return nil, &ErrMissing{What: "gcloud (Google Cloud CLI)", Install: PubSubInstall}
	}
	if real, err := filepath.EvalSymlinks(gcloud); err == nil {
		launcher := filepath.Join(filepath.Dir(filepath.Dir(real)), "platform", "pubsub-emulator", "bin", "cloud-pubsub-emulator")
		if isExec(launcher) {
			return []string{launcher, "--host=" + host, fmt.Sprintf("--port=%d", port)}, nil
		}
	}
	return []string{gcloud, "beta", "emulators", "pubsub", "start", fmt.Sprintf("--host-port=%s:%d", host, port), "--project=" + project}, nil
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Proc is a started emulator process.
type Proc struct {
	Cmd *exec.Cmd
	Log *bytes.Buffer // its stdout and stderr
}

// spawns carries Start's commands to one goroutine locked to its OS thread
// for the life of the process: Pdeathsig fires when the thread that started
// a child exits, and this thread never does, so emulators die with the test
// binary (a panic or a -timeout kill included) and at no other time.
var (
	spawnOnce sync.Once
	spawns    chan spawn
)

type spawn struct {
	cmd  *exec.Cmd
	done chan error
}

func spawner() {
	runtime.LockOSThread()
	for s := range spawns {
		s.done <- s.cmd.Start()
	}
}

// Start starts argv in its own process group (stop kills the group, so a
// wrapper's children go too), killed if the test binary dies.
func Start(argv ...string) (*Proc, error) {
	spawnOnce.Do(func() {
		spawns = make(chan spawn)
		go spawner()
	})
	p := &Proc{Cmd: exec.Command(argv[0], argv[1:]...), Log: &bytes.Buffer{}}
	p.Cmd.Stdout, p.Cmd.Stderr = p.Log, p.Log
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	done := make(chan error, 1)
	spawns <- spawn{p.Cmd, done}
	if err := <-done; err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(argv[0]), err)
	}
	return p, nil
}

// Wait waits until every host:port accepts connections or limit passes;
// then it stops the process and returns an error quoting its output.
func (p *Proc) Wait(limit time.Duration, hosts ...string) error {
	deadline := time.Now().Add(limit)
	for _, h := range hosts {
		for {
			c, err := net.DialTimeout("tcp", h, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				p.Stop()
				return fmt.Errorf("not listening on %s after %s; its output:\n%s", h, limit, p.Log.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// Stop ends the process group with SIGTERM, then SIGKILL after 10 s, and
// returns once the process is gone. Stopping twice is fine.
func (p *Proc) Stop() {
	if p == nil || p.Cmd.Process == nil || p.Cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Kill ends the process group at once with SIGKILL, as a crash would.
func (p *Proc) Kill() {
	if p == nil || p.Cmd.Process == nil || p.Cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	_ = p.Cmd.Wait()
}

// shared holds emulators started once per test binary, by key.
var shared struct {
	sync.Mutex
	procs map[string]*sharedProc
}

type sharedProc struct {
	once  sync.Once
	proc  *Proc
	hosts []string
	err   error
}

// Shared starts an emulator once per test binary under key and returns its
// hosts; later calls with the same key return the same hosts (or error).
func Shared(key string, start func() (*Proc, []string, error)) ([]string, error) {
	shared.Lock()
	if shared.procs == nil {
		shared.procs = map[string]*sharedProc{}
	}
	sp := shared.procs[key]
	if sp == nil {
		sp = &sharedProc{}
		shared.procs[key] = sp
	}
	shared.Unlock()
	sp.once.Do(func() { sp.proc, sp.hosts, sp.err = start() })
	return sp.hosts, sp.err
}

// StopShared stops every emulator Shared started.
func StopShared() {
	shared.Lock()
	defer shared.Unlock()
	for k, sp := range shared.procs {
		sp.proc.Stop()
		delete(shared.procs, k)
	}
}

// userHZ is the unit of /proc/PID/stat's CPU times: USER_HZ, 100 on every
// Linux architecture Go builds for.
const userHZ = 100

// CPU is the processor time the process group has used so far: that of its
// live processes and of the children they have reaped (a wrapper's, such as
// gcloud's around the Pub/Sub emulator's JVM). It reads /proc, so it works
// on Linux only. Benchmarks report it: an emulator shares the machine with
// the pipeline it serves.
func (p *Proc) CPU() (time.Duration, error) {
	if p == nil || p.Cmd.Process == nil {
		return 0, fmt.Errorf("emuproc: CPU of a process not started")
	}
	if p.Cmd.ProcessState != nil {
		return 0, fmt.Errorf("emuproc: CPU of %s: it has ended", filepath.Base(p.Cmd.Path))
	}
	return groupCPU("/proc", p.Cmd.Process.Pid)
}

// groupCPU sums utime, stime, cutime and cstime of the processes under root
// (a /proc) whose process group is pgid.
func groupCPU(root string, pgid int) (time.Duration, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return 0, fmt.Errorf("emuproc: CPU of process group %d: %w", pgid, err)
	}
	var ticks int64
	found := false
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name(), "stat"))
		if err != nil {
			continue // the process ended while we looked
		}
		group, t, ok := parseStat(string(b))
		if ok && group == pgid {
			ticks += t
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("emuproc: no process of group %d under %s", pgid, root)
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// parseStat reads the process group and utime+stime+cutime+cstime (in
// ticks) of a /proc/PID/stat line. The command name, in parentheses, may
// hold spaces and parentheses itself, so fields are counted after its last
// ')': state is field 3, pgrp 5, utime..cstime 14..17.
func parseStat(s string) (pgrp int, ticks int64, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 15 {
		return 0, 0, false
	}
	g, err := strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, false
	}
	for _, x := range f[11:15] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		ticks += n
	}
	return g, ticks, true
}
