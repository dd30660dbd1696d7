# SPDX-License-Identifier: MIT
"""Base class of the server launchers: a process in its own temp dir on
127.0.0.1 and a free port, started within a deadline, always stopped."""

import os
import shutil
import subprocess
import sys
import tempfile

from .util import (DEFAULT_TIMEOUT, HarnessError, die_with_parent, free_port, port_open,
                   stop_process, tail, wait_until)


class Server:
    name = "server"

    def __init__(self, timeout=DEFAULT_TIMEOUT, port=None):
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="sondetest-%s-" % self.name)
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self._log = None

    # Subclasses: prepare() writes files; command() is the argv; ready()
    # says the server answers (default: the port accepts connections).
    def prepare(self):
        pass

    def command(self):
        raise NotImplementedError

    def ready(self):
        return port_open(self.host, self.port)

    def after_start(self):
        pass

    def popen_kwargs(self):
        return {}

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    def start(self):
        try:
            self.prepare()
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.command(), stdout=self._log,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         start_new_session=True,
                                         preexec_fn=die_with_parent,
                                         **self.popen_kwargs())
            wait_until(self.ready, timeout=self.timeout,
                       what="%s on %s" % (self.name, self.address),
                       proc=self.proc, log=self.server_log())
            self.after_start()
        except Exception:
            self.stop()
            self.cleanup()
            raise
        return self

    def server_log(self):
        """The log that explains a failed start (some servers keep their own)."""
        return self.log_path

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, timeout=15)
            self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def cleanup(self):
        if os.environ.get("SONDE_KEEP_TMP") == "1":
            print("kept %s dir %s" % (self.name, self.dir), file=sys.stderr)
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        if et is not None:
            print(tail(self.server_log()), file=sys.stderr)
        self.stop()
        self.cleanup()
        return False

    def chown(self, user):
        """Hands the whole temp dir to user (servers that refuse root)."""
        import pwd
        pw = pwd.getpwnam(user)
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def check_running(self):
        if self.proc is None or self.proc.poll() is not None:
            raise HarnessError("%s died\n%s" % (self.name, tail(self.server_log())))
