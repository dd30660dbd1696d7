#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Driver of run.sh: see there. Prints a markdown table of the results."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def lines_total(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                    timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(r'^sonde_log_lines_total\{path="%s"\} (\S+)$' % re.escape(path),
                  text, re.M)
    return float(m.group(1)) if m else 0.0


def start_sonde(sonde, tmp, path, port, from_beginning, fmt="combined"):
    cfg = os.path.join(tmp, "sonde.yaml")
    with open(cfg, "w") as f:
        f.write('prometheus:\n  listen: "127.0.0.1:%d"\n' % port)
        # the log path alone: eBPF's program load at start is not part of it
        f.write("ebpf:\n  enabled: false\n")
        f.write("logs:\n  state_dir: %s/state\n  sources:\n" % tmp)
        f.write("    - path: %s\n      format: %s\n" % (path, fmt))
        f.write("      from_beginning: %s\n" % ("true" if from_beginning else "false"))
    shutil.rmtree(os.path.join(tmp, "state"), ignore_errors=True)
    return subprocess.Popen([sonde, "--config", cfg],
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(tmp, "sonde.err"), "w"))


def main():
    build, size_mib = sys.argv[1], int(sys.argv[2])
    sonde = os.path.join(build, "sonde")
    writer = os.path.join(build, "probes", "logs", "sonde_logs_writer")
    tmp = tempfile.mkdtemp(prefix="sonde-bench-logs-")
    try:
        log = os.path.join(tmp, "access.log")
        # ~120 bytes a line
        n_lines = size_mib * 1024 * 1024 // 120
        t = time.time()
        subprocess.run([writer, log, "none", "@combined", "0", str(n_lines),
                        "0", "0", "20"], check=True, stdout=subprocess.DEVNULL)
        size = os.path.getsize(log)
        print("generated %d lines, %.1f MiB in %.1f s" % (
            n_lines, size / 2**20, time.time() - t), file=sys.stderr)
        gib = size / 2**30
        subprocess.run(["cat", log], stdout=subprocess.DEVNULL, check=True)

        # sonde, from the beginning, until every line is counted
        def sonde_run(fmt):
            port = free_port()
            t0 = time.time()
            p = start_sonde(sonde, tmp, log, port, True, fmt)
            while True:
                v = lines_total(port, log)
                if v is not None and v >= n_lines:
                    break
                if p.poll() is not None:
                    raise SystemExit("sonde exited")
                time.sleep(0.02)
            wall = time.time() - t0
            cpu = cpu_seconds(p.pid)
            rss = peak_rss_kib(p.pid)
            p.terminate()
            p.wait()
            return (n_lines / wall, cpu / gib, rss / 1024, wall)
        sonde_row = sonde_run("combined")
        raw_row = sonde_run("raw")

        # mtail, one shot over the same file, with two programs: the least
        # it takes to count lines and bytes by status (mtail's best case),
        # and one that does what sonde does with a combined line (the whole
        # line matched, its timestamp parsed, requests counted and a
        # histogram observed by method and status; combined has no request
        # time, so the response size stands in for it).
        def mtail_run(name, program):
            progs = os.path.join(tmp, "progs-" + name)
            os.mkdir(progs)
            with open(os.path.join(progs, "combined.mtail"), "w") as f:
                f.write(program)
            t0 = time.time()
            r = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "mtail",
                                "--one_shot", "--one_shot_format", "prometheus",
                                "--progs", progs, "--logs", log, "--logtostderr",
                                "--address", "127.0.0.1",
                                "--port", str(free_port())],
                               capture_output=True, text=True)
            wall = time.time() - t0
            user, sys_, rss = r.stderr.strip().splitlines()[-1].split()
            m = re.search(r"^log_lines_total\{[^}]*\} (\S+)$", r.stdout, re.M) or \
                re.search(r"^log_lines_total (\S+)$", r.stdout, re.M)
            counted = float(m.group(1)) if m else -1
            return (counted, counted / wall, (float(user) + float(sys_)) / gib,
                    int(rss) / 1024, wall)
        mtail_min = mtail_run("minimal", (
            'counter log_lines_total\n'
            'counter http_response_bytes_total by status\n'
            '/^\\S+ \\S+ \\S+ \\[[^\\]]+\\] "\\S+ \\S+ \\S+" '
            '(?P<status>\\d{3}) (?P<bytes>\\d+)/ {\n'
            '  log_lines_total++\n'
            '  http_response_bytes_total[$status] += $bytes\n'
            '}\n'))
        mtail_eq = mtail_run("equivalent", (
            'counter log_lines_total\n'
            'counter http_requests_total by method, status\n'
            'histogram http_response_size_bytes by method, status '
            'buckets 100, 1000, 10000, 100000\n'
            '/^(?P<remote>\\S+) \\S+ \\S+ \\[(?P<time>[^\\]]+)\\] '
            '"(?P<method>\\S+) (?P<path>\\S+) \\S+" (?P<status>\\d{3}) '
            '(?P<bytes>\\d+) "(?P<referer>[^"]*)" "(?P<ua>[^"]*)"$/ {\n'
            '  strptime($time, "02/Jan/2006:15:04:05 -0700")\n'
            '  log_lines_total++\n'
            '  http_requests_total[$method][$status]++\n'
            '  http_response_size_bytes[$method][$status] = $bytes\n'
            '}\n'))

        # follow mode: 20,000 lines/s appended, agent CPU over 10 s
        follow = os.path.join(tmp, "follow.log")
        open(follow, "w").close()
        port = free_port()
        p = start_sonde(sonde, tmp, follow, port, False)
        while lines_total(port, follow) is None:
            time.sleep(0.05)
        w = subprocess.Popen([writer, follow, "none", "@combined", "0",
                              "300000", "20000", "0", "20"],
                             stdout=subprocess.DEVNULL)
        time.sleep(2)
        c0, t0 = cpu_seconds(p.pid), time.time()
        time.sleep(10)
        c1, t1 = cpu_seconds(p.pid), time.time()
        w.wait()
        time.sleep(1)
        follow_lines = lines_total(port, follow)
        p.terminate()
        p.wait()
        follow_cpu = (c1 - c0) / (t1 - t0) * 100

        print("| | lines/s | CPU-s per GiB | peak RSS MiB | wall s |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print("| sonde, format combined | %.0f | %.2f | %.1f | %.2f |" % sonde_row)
        print("| sonde, format raw (tailer only) | %.0f | %.2f | %.1f | %.2f |" % raw_row)
        print("| mtail, equivalent program (counted %d) | %.0f | %.2f | %.1f | %.2f |"
              % mtail_eq)
        print("| mtail, minimal program (counted %d) | %.0f | %.2f | %.1f | %.2f |"
              % mtail_min)
        print()
        print("sonde / mtail throughput: %.1fx against the equivalent program, "
              "%.1fx against the minimal one" % (sonde_row[0] / mtail_eq[1],
                                                 sonde_row[0] / mtail_min[1]))
        print("sonde / mtail CPU-s per GiB: %.1fx and %.1fx" % (
            mtail_eq[2] / sonde_row[1], mtail_min[2] / sonde_row[1]))
        print("follow mode, 20,000 lines/s: sonde CPU %.2f%% of a core "
              "(%d of 300000 lines counted)" % (follow_cpu, follow_lines or -1))
        print("file: %.1f MiB, %d lines; nproc %d" % (size / 2**20, n_lines,
                                                      os.cpu_count()))
        # the same lines without the tailer: parse and metrics, split
        pb = os.path.join(build, "probes", "logs", "sonde_logs_parse_bench")
        if os.path.exists(pb):
            head = os.path.join(tmp, "head.log")
            with open(log, "rb") as src, open(head, "wb") as dst:
                dst.writelines(line for _, line in zip(range(1000000), src))
            print()
            print(subprocess.run([pb, head, "combined", "3"], check=True,
                                 capture_output=True, text=True).stdout.strip())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
