# Turns the output of `ctr events` into per-container phase durations.
#
# Input lines, as ctr 1.6 prints them:
#     2024-01-02 03:04:05.123456789 +0000 UTC <namespace> <topic> <event JSON>
# /containers/* events are stamped by containerd, /tasks/* events by the shim
# when it publishes them; both read the same host clock.
#
# Output (tab-separated, for summarize.awk): metric <TAB> runtime <TAB> ms,
# where runtime is `runc` or `blackbox` (from the container's runtime name),
# for every container whose id matches the regex `measured` (-v) and that has
# all five events. Warm-up and memory containers are left out that way.

BEGIN {
    if (measured == "") measured = "^[rb][0-9]+$"
    topics["/containers/create"] = "cc"
    topics["/tasks/create"] = "tc"
    topics["/tasks/start"] = "ts"
    topics["/tasks/exit"] = "te"
    topics["/containers/delete"] = "cd"
}

# Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
# days_from_civil), so a run across midnight still subtracts correctly.
function days(y, m, d,    era, yoe, doy, doe) {
    y -= (m <= 2)
    era = int((y >= 0 ? y : y - 399) / 400)
    yoe = y - era * 400
    doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
    doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
    return era * 146097 + doe - 719468
}

function json_string(text, key,    s) {
    if (!match(text, "\"" key "\":\"[^\"]*\"")) return ""
    s = substr(text, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
    return s
}

$6 in topics {
    split($1, ymd, "-")
    split($2, hms, ":")
    day = days(ymd[1] + 0, ymd[2] + 0, ymd[3] + 0)
    if (day0 == "") day0 = day
    # Seconds since the first event's midnight: small enough for a double
    # to keep the nanoseconds.
    t = (day - day0) * 86400 + hms[1] * 3600 + hms[2] * 60 + hms[3]
    kind = topics[$6]
    id = json_string($0, kind ~ /^t/ ? "container_id" : "id")
    if (id == "" || id !~ measured) next
    at[id, kind] = t
    if (kind == "cc") {
        name = json_string($0, "name")
        runtime[id] = name == "io.containerd.runc.v2" ? "runc" : name == "io.containerd.blackbox.v2" ? "blackbox" : name
        order[++containers] = id
    }
}

function phase(label, id, from, to) {
    printf "%s\t%s\t%.3f\n", label, runtime[id], (at[id, to] - at[id, from]) * 1000
}

END {
    for (i = 1; i <= containers; i++) {
        id = order[i]
        complete = 1
        for (topic in topics) if (!((id, topics[topic]) in at)) complete = 0
        if (!complete) {
            printf "events.awk: container %s lacks events, left out\n", id > "/dev/stderr"
            continue
        }
        phase("events: containers/create → tasks/create (shim start + runc create)", id, "cc", "tc")
        phase("events: tasks/create → tasks/start (runc start)", id, "tc", "ts")
        phase("events: tasks/start → tasks/exit (`true` runs, exit reaped)", id, "ts", "te")
        phase("events: containers/create → tasks/exit (create→start→exit)", id, "cc", "te")
        phase("events: tasks/exit → containers/delete (task delete, shim shutdown)", id, "te", "cd")
    }
}
