# failures.awk reads the output of `go test -v` and prints, for each test
# that failed, the last lines its test logged (t.Log, t.Error, with their
# continuation lines): a failure's own message, which a long -v log leaves
# far above its end, where CI's excerpt is.
/^=== (RUN|NAME|CONT|PAUSE) / { cur = $3; inmsg = 0; next }
/^ *--- (FAIL|PASS|SKIP): / {
	if ($2 == "FAIL:" && !($3 in failed)) { failed[$3] = 1; order[++nfailed] = $3 }
	inmsg = 0
	next
}
/^    [^ ][^ ]*_test\.go:[0-9]+: / { keep(cur, $0); inmsg = 1; next }
/^        / && inmsg { keep(cur, $0); next }
{ inmsg = 0 }
function keep(test, line) {
	n[test]++
	lines[test, n[test]] = substr(line, 1, 300)
}
END {
	for (i = 1; i <= nfailed; i++) {
		t = order[i]
		if (!(t in n)) continue
		print "--- FAIL: " t
		from = n[t] > 15 ? n[t] - 14 : 1
		for (j = from; j <= n[t]; j++) print lines[t, j]
	}
}
