#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a command at the lowest CPU priority:
#   setsid scripts/lowprio.sh command [args...]
# In a session of its own (setsid), the session's autogroup is set to nice
# 19 as well as the command: the scheduler weighs sessions against each
# other by their autogroup's nice value, not their tasks', so a plain
# `nice` yields nothing to other sessions (scripts/test.sh's tests run
# their servers and agents in sessions of their own).
echo 19 >/proc/self/autogroup 2>/dev/null || true
exec nice -n 19 "$@"
