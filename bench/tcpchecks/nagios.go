package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runNagios runs the peer, Nagios 4 (Debian's nagios4-core), on the same
// work: the same services checked with check_tcp against the same
// listeners, every service due every `interval`. Nagios counts the active
// service checks it ran in the last minute (nagios4stats NUMSVCACTCHK1M),
// so the run lasts a warm-up plus one minute.
func runNagios(n int, ports []int, interval time.Duration, plugin string) (result, error) {
	bin, stats := "/usr/sbin/nagios4", "/usr/sbin/nagios4stats"
	if _, err := os.Stat(bin); err != nil {
		return result{}, fmt.Errorf("%s not found (apt install nagios4-core)", bin)
	}
	dir, err := os.MkdirTemp("", "vigie-bench-nagios-")
	if err != nil {
		return result{}, err
	}
	if os.Getenv("VIGIE_BENCH_KEEP") == "" {
		defer os.RemoveAll(dir)
	} else {
		fmt.Println("nagios dir:", dir)
	}
	os.MkdirAll(filepath.Join(dir, "checkresults"), 0o777)
	runAs := "nagios"
	if _, err := user.Lookup(runAs); err != nil {
		runAs = "root"
	}
	secs := int(interval.Seconds())
	if secs < 1 {
		secs = 1 // Nagios schedules in whole interval_length units
	}
	var obj strings.Builder
	fmt.Fprintf(&obj, "define command {\n command_name check_tcp\n command_line %s -H $HOSTADDRESS$ -p $ARG1$\n}\n", plugin)
	fmt.Fprintf(&obj, "define command {\n command_name host_ok\n command_line /bin/true\n}\n")
	fmt.Fprintf(&obj, "define timeperiod {\n timeperiod_name always\n alias always\n sunday 00:00-24:00\n monday 00:00-24:00\n tuesday 00:00-24:00\n wednesday 00:00-24:00\n thursday 00:00-24:00\n friday 00:00-24:00\n saturday 00:00-24:00\n}\n")
	fmt.Fprintf(&obj, "define contact {\n contact_name nobody\n host_notifications_enabled 0\n service_notifications_enabled 0\n host_notification_period always\n service_notification_period always\n host_notification_options n\n service_notification_options n\n host_notification_commands host_ok\n service_notification_commands host_ok\n}\n")
	hosts := 100
	for h := 0; h < hosts; h++ {
		fmt.Fprintf(&obj, "define host {\n host_name h%d\n address 127.0.0.1\n check_command host_ok\n max_check_attempts 1\n check_interval 3600\n check_period always\n contacts nobody\n notification_period always\n active_checks_enabled 0\n}\n", h)
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&obj, "define service {\n host_name h%d\n service_description s%d\n check_command check_tcp!%d\n max_check_attempts 1\n check_interval %d\n retry_interval %d\n check_period always\n contacts nobody\n notification_period always\n notifications_enabled 0\n}\n",
			i%hosts, i, ports[i%len(ports)], secs, secs)
	}
	must(os.WriteFile(filepath.Join(dir, "objects.cfg"), []byte(obj.String()), 0o644))
	cfg := fmt.Sprintf(`log_file=%[1]s/nagios.log
cfg_file=%[1]s/objects.cfg
object_cache_file=%[1]s/objects.cache
precached_object_file=%[1]s/objects.precache
status_file=%[1]s/status.dat
status_update_interval=5
nagios_user=%[2]s
nagios_group=%[2]s
check_result_path=%[1]s/checkresults
lock_file=%[1]s/nagios.lock
temp_file=%[1]s/nagios.tmp
temp_path=%[1]s
state_retention_file=%[1]s/retention.dat
retain_state_information=0
check_external_commands=0
interval_length=1
max_concurrent_checks=64
service_inter_check_delay_method=n
max_service_check_spread=1
service_interleave_factor=s
enable_flap_detection=0
enable_notifications=0
execute_host_checks=0
use_large_installation_tweaks=1
enable_environment_macros=0
check_for_orphaned_services=0
log_initial_states=0
log_service_retries=0
illegal_macro_output_chars=`+"`"+`~$&|'"<>
`, dir, runAs)
	cfgPath := filepath.Join(dir, "nagios.cfg")
	must(os.WriteFile(cfgPath, []byte(cfg), 0o644))
	if runAs != "root" {
		exec.Command("chown", "-R", runAs+":"+runAs, dir).Run()
	}

	before := sysCPU()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, cfgPath)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	start := time.Now()
	time.Sleep(20 * time.Second) // start-up and the first spread of checks
	mid := time.Now()
	time.Sleep(61 * time.Second)
	out, err := exec.Command(stats, "-c", cfgPath, "-m", "-d", "NUMSVCACTCHK1M").Output()
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	busy := sysCPU().since(before)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "nagios.log"))
		return result{}, fmt.Errorf("nagios4stats: %v (log: %.400s)", err, log)
	}
	perMin, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return result{}, fmt.Errorf("nagios4stats said %q", out)
	}
	r := result{rate: float64(perMin) / 60}
	fmt.Printf("%-28s %8.0f checks/s  (nagios4stats NUMSVCACTCHK1M %d over the minute after a %s warm-up)  machine cpu %.0f%%\n",
		"nagios 4 check_tcp, saturated", r.rate, perMin, mid.Sub(start).Round(time.Second), busy)
	return r, nil
}
