# Summarises benchmark samples side by side, as a markdown table.
#
# Input (tab-separated, one sample a line, any order):
#     metric <TAB> runtime <TAB> value
# where runtime is `runc` or `blackbox`. Metrics are printed in the order of
# their first sample. For each metric and runtime: n, median and the p95
# (nearest rank: the ceil(0.95 n)-th smallest sample, i.e. the maximum when
# n < 20), then blackbox/runc for both, and the budget where one applies.
#
# Variables (-v): title (first column's header), spread (header of the p95
# column, e.g. "p95" or "max").

BEGIN {
    FS = "\t"
    if (title == "") title = "metric"
    if (spread == "") spread = "p95"
    # Budgets from ARCHITECTURE.md's performance budget.
    ratio_budget["`ctr run --rm` wall time"] = 1.05
    ratio_budget["events: containers/create → tasks/exit (create→start→exit)"] = 1.05
    # "6 MB" read strictly as 6,000,000 bytes.
    # The budget excludes the ring buffer: the recorder's BPF maps mapped
    # into the shim are kernel memory the shim only reads.
    abs_budget["VmRSS without BPF map mappings (MiB)"] = 6000000 / 1048576
    abs_label["VmRSS without BPF map mappings (MiB)"] = "6 MB = 5.72 MiB"
}

NF == 3 {
    key = $1 SUBSEP $2
    if (!($1 in seen)) { seen[$1] = 1; order[++metrics] = $1 }
    values[key, ++count[key]] = $3 + 0
}

function sort_values(key, n,    i, j, v) {
    # Insertion sort into sorted[1..n]: a few hundred samples at most.
    for (i = 1; i <= n; i++) {
        v = values[key, i]
        for (j = i - 1; j >= 1 && sorted[j] > v; j--) sorted[j + 1] = sorted[j]
        sorted[j + 1] = v
    }
}

function median(key,    n) {
    n = count[key]
    if (n == 0) return ""
    sort_values(key, n)
    if (n % 2) return sorted[(n + 1) / 2]
    return (sorted[n / 2] + sorted[n / 2 + 1]) / 2
}

function p95(key,    n, rank) {
    n = count[key]
    if (n == 0) return ""
    sort_values(key, n)
    rank = int(0.95 * n)
    if (rank < 0.95 * n) rank++
    return sorted[rank]
}

function fmt(v) { return v == "" ? "–" : v == int(v) ? sprintf("%d", v) : sprintf("%.2f", v) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "–" : sprintf("%.3f×", a / b) }

END {
    printf "| %s | n | runc shim median | runc shim %s | blackbox median | blackbox %s | ratio median | ratio %s | budget |\n", \
        title, spread, spread, spread
    print "|---|---|---|---|---|---|---|---|---|"
    for (m = 1; m <= metrics; m++) {
        name = order[m]
        rm = median(name SUBSEP "runc"); rp = p95(name SUBSEP "runc")
        bm = median(name SUBSEP "blackbox"); bp = p95(name SUBSEP "blackbox")
        n = count[name SUBSEP "runc"] "/" count[name SUBSEP "blackbox"]
        budget = ""
        if (name in ratio_budget) {
            budget = sprintf("≤ %.2f× (%s)", ratio_budget[name],
                (bm != "" && rm != "" && bm / rm <= ratio_budget[name]) ? "met" : "MISSED")
        } else if (name in abs_budget) {
            budget = sprintf("≤ %s (%s)", abs_label[name],
                (bm != "" && bm <= abs_budget[name]) ? "met" : "MISSED")
        }
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
            name, n, fmt(rm), fmt(rp), fmt(bm), fmt(bp), ratio(bm, rm), ratio(bp, rp), budget
    }
}
