# Summarises the workload samples of scripts/bench-recorder.sh as a markdown
# table: per workload, the median of each variant, and for each variant but
# the baseline the median, minimum and maximum over rounds of the per-round
# ratio variant/baseline (the two runs of a round are neighbours in time),
# and the budget verdict, taken on the first variant's median paired ratio.
#
# Input (tab-separated): workload <TAB> round <TAB> variant <TAB> ns per iteration
# Variables (-v):
#   variants   space-separated, baseline first, e.g. "runc blackbox norec"
#   heads      |-separated column names, in the same order
#   budgets    "container" or "host": which budget table applies
#   over       optional "VARIANT:BASE" (two of the variants): one more column with
#              the median of per-round ratios VARIANT/BASE (e.g. the recorder over
#              the floor)
# Runs with Debian's default mawk.

BEGIN {
    FS = "\t"
    nv = split(variants, var, " ")
    split(heads, head, "|")
    for (k = 1; k <= nv; k++) head_of[var[k]] = head[k]
    n_over = split(over, over_pair, ":")
    label["openread"] = "open, read 4 KiB, close"
    label["forkexec"] = "fork, exec (static binary), wait"
    label["tcp"] = "TCP loopback request/response, 64 B"
    if (budgets == "container") {
        budget["openread"] = 1.3
        budget["forkexec"] = 1.05
        budget["tcp"] = 1.1
    } else {
        budget["openread"] = 1.05
        budget["forkexec"] = 1.05
        budget["tcp"] = 1.05
    }
}

NF == 4 {
    if (!($1 in seen)) { seen[$1] = 1; order[++nw] = $1 }
    if (!(($1, $2) in round_seen)) { round_seen[$1, $2] = 1; rounds[$1, ++nr[$1]] = $2 }
    v[$1, $2, $3] = $4 + 0
    vals[$1, $3, ++cnt[$1, $3]] = $4 + 0
}

# sorts a[1..n] in place (insertion sort: a few dozen values).
function isort(a, n,    i, j, x) {
    for (i = 2; i <= n; i++) {
        x = a[i]
        for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
        a[j + 1] = x
    }
}

function med(a, n) {
    if (n == 0) return ""
    isort(a, n)
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function median_of(w, variant,    a, i, n) {
    n = cnt[w, variant]
    for (i = 1; i <= n; i++) a[i] = vals[w, variant, i]
    return med(a, n)
}

# Sets pr_med, pr_min, pr_max, pr_n for variant/base of workload w (base: the baseline).
function paired(w, variant, base,    a, i, r, n) {
    if (base == "") base = var[1]
    n = 0
    for (i = 1; i <= nr[w]; i++) {
        r = rounds[w, i]
        if (((w, r, variant) in v) && ((w, r, base) in v) && v[w, r, base] > 0)
            a[++n] = v[w, r, variant] / v[w, r, base]
    }
    pr_n = n
    pr_med = med(a, n)
    pr_min = n ? a[1] : ""
    pr_max = n ? a[n] : ""
}

function us(x) { return x == "" ? "–" : sprintf("%.2f", x / 1000) }
function x3(x) { return x == "" ? "–" : sprintf("%.3f×", x) }

END {
    line = "| workload (µs per iteration) | rounds | " head[1] " median"
    rule = "|---|---|---"
    for (k = 2; k <= nv; k++) {
        line = line " | " head[k] " median | " head[k] " / " head[1] ": median of per-round ratios [min–max]"
        rule = rule "|---|---"
    }
    if (n_over == 2) {
        line = line " | " head_of[over_pair[1]] " / " head_of[over_pair[2]] ": median of per-round ratios [min–max]"
        rule = rule "|---"
    }
    print line " | budget |"
    print rule "|---|"
    for (i = 1; i <= nw; i++) {
        w = order[i]
        line = "| " (w in label ? label[w] : w) " | " nr[w] " | " us(median_of(w, var[1]))
        verdict = ""
        for (k = 2; k <= nv; k++) {
            paired(w, var[k])
            line = line " | " us(median_of(w, var[k])) " | **" x3(pr_med) "** [" x3(pr_min) "–" x3(pr_max) "]"
            if (k == 2 && (w in budget) && pr_med != "")
                verdict = sprintf("≤ %.2f× (%s)", budget[w], pr_med <= budget[w] ? "met" : "MISSED")
        }
        if (n_over == 2) {
            paired(w, over_pair[1], over_pair[2])
            line = line " | **" x3(pr_med) "** [" x3(pr_min) "–" x3(pr_max) "]"
        }
        print line " | " verdict " |"
    }
}
