# The median over rounds of blackbox/runc, each round's two runs being
# neighbours in time. Less sensitive to load that drifts during the run
# (other builds on the machine) than the ratio of the two medians.
#
# Input (tab-separated): round <TAB> runtime <TAB> value
# Output: "<median ratio> <rounds>", or nothing without complete rounds.

BEGIN { FS = "\t" }

NF == 3 { v[$1, $2] = $3 + 0; rounds[$1] = 1 }

END {
    n = 0
    for (r in rounds) {
        if (((r, "runc") in v) && ((r, "blackbox") in v) && v[r, "runc"] > 0) {
            x = v[r, "blackbox"] / v[r, "runc"]
            for (j = n; j >= 1 && s[j] > x; j--) s[j + 1] = s[j]
            s[j + 1] = x
            n++
        }
    }
    if (n == 0) exit
    m = (n % 2) ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
    printf "%.3f %d\n", m, n
}
