#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark's console logs into a table, a CSV and a plot.

  perf.py OUTDIR LABEL=LOG LABEL=LOG

LOG is the console of one kernel running kvm_vfio_bench; the first LABEL
is the baseline (stock), the second the candidate (ours).  Writes
OUTDIR/results.csv, OUTDIR/table.txt, OUTDIR/pair.gp and, if gnuplot is
installed, OUTDIR/pair.png; prints the table and the targets of the
benchmark with their verdict.  Exits 1 when a log has no results.
"""
import os
import shutil
import subprocess
import sys

MARK = '# kvm-vfio-bench: '
FIELDS = ['add_med', 'add_p99', 'del_med', 'del_p99', 'pair_med', 'pair_p99',
          'teardown_ns', 'teardown_per_file']


def parse(path):
    """Return (floor, {(mix, n): {field: ns}}, done) of one console log."""
    floor, sizes, done = None, {}, False
    with open(path, errors='replace') as f:
        for line in f:
            line = line.strip().replace('\r', '')
            if not line.startswith(MARK):
                continue
            kv = dict(p.split('=', 1) for p in line[len(MARK):].split()
                      if '=' in p)
            if kv.get('what') == 'floor':
                floor = {'med': int(kv['med']), 'p99': int(kv['p99'])}
            elif kv.get('what') == 'size':
                sizes[(kv['mix'], int(kv['n']))] = {
                    k: int(kv[k]) for k in FIELDS}
            elif kv.get('what') == 'done':
                done = True
    return floor, sizes, done


def us(ns):
    return '%.2f' % (ns / 1000.0)


def td_per_file(res, key):
    """Teardown ns per tracked file, less the empty device's close."""
    mix, n = key
    base = res.get((mix, 0))
    if not n or base is None:
        return 0
    return max(res[key]['teardown_ns'] - base['teardown_ns'], 0) // n


def main(argv):
    if len(argv) != 3:
        sys.exit('usage: perf.py OUTDIR LABEL=LOG LABEL=LOG')
    outdir = argv[0]
    (la, loga), (lb, logb) = (a.split('=', 1) for a in argv[1:])
    fa, ra, da = parse(loga)
    fb, rb, db = parse(logb)
    for label, floor, res, done, log in ((la, fa, ra, da, loga),
                                         (lb, fb, rb, db, logb)):
        if floor is None or not res or not done:
            print('ERROR: %s: no complete benchmark results in %s' % (label, log))
            return 1

    os.makedirs(outdir, exist_ok=True)
    keys = sorted(set(ra) & set(rb), key=lambda k: (k[0] != 'noncoherent', k[0], k[1]))
    lines = []
    lines.append('floor (KVM_HAS_DEVICE_ATTR): %s %s us (p99 %s), %s %s us (p99 %s)' %
                 (la, us(fa['med']), us(fa['p99']), lb, us(fb['med']), us(fb['p99'])))
    lines.append('')
    hdr = ('%-12s %6s | %9s %9s %6s | %9s %9s | %9s %9s | %9s %9s | %10s %10s' %
           ('mix', 'N', 'pair ' + la, 'pair ' + lb, lb + '/' + la[:1],
            'add ' + la, 'add ' + lb, 'del ' + la, 'del ' + lb,
            'p99 ' + la, 'p99 ' + lb, 'td/f ' + la, 'td/f ' + lb))
    lines.append('median us per call (pair = ADD+DEL of one more file; p99 of the pair;')
    lines.append('td/f = ns per tracked file of closing the device, beyond closing it empty,')
    lines.append('which costs one RCU grace period in KVM whatever the device tracks)')
    lines.append(hdr)
    lines.append('-' * len(hdr))
    for k in keys:
        a, b = ra[k], rb[k]
        lines.append('%-12s %6d | %9s %9s %6.2f | %9s %9s | %9s %9s | %9s %9s | %10d %10d' %
                     (k[0], k[1], us(a['pair_med']), us(b['pair_med']),
                      b['pair_med'] / a['pair_med'],
                      us(a['add_med']), us(b['add_med']),
                      us(a['del_med']), us(b['del_med']),
                      us(a['pair_p99']), us(b['pair_p99']),
                      td_per_file(ra, k), td_per_file(rb, k)))

    # The targets of the benchmark, all from this run.
    lines.append('')
    lines.append('targets:')

    def target(ok, text):
        lines.append('  %s %s' % ('MET   ' if ok else 'MISSED', text))

    for mix in ('noncoherent', 'coherent'):
        ns = sorted(n for (m, n) in rb if m == mix)
        if not ns:
            continue
        lo, hi = rb[(mix, ns[0])]['pair_med'], rb[(mix, ns[-1])]['pair_med']
        target(hi <= 1.3 * lo, '%s %s: pair at N=%d is %.2fx its pair at N=%d (<= 1.3)' %
               (lb, mix, ns[-1], hi / lo, ns[0]))
    worst = max(keys, key=lambda k: rb[k]['pair_med'] / ra[k]['pair_med'])
    r = rb[worst]['pair_med'] / ra[worst]['pair_med']
    target(r <= 1.05, '%s never slower than %s: worst pair ratio %.2f at %s N=%d (<= 1.05)' %
           (lb, la, r, worst[0], worst[1]))
    big = [k for k in keys if k[0] == 'coherent']
    if big:
        k = max(big, key=lambda k: k[1])
        r = ra[k]['pair_med'] / rb[k]['pair_med']
        target(r >= 100, '%s %.0fx faster than %s, coherent N=%d (>= 100)' %
               (lb, r, la, k[1]))
    zero = [k for k in keys if k[1] == 0]
    if zero:
        r = max(rb[k]['pair_med'] for k in zero) / fb['med']
        target(r <= 4, '%s pair at N=0 is %.2fx the floor (<= 4)' % (lb, r))

    table = '\n'.join(lines) + '\n'
    with open(os.path.join(outdir, 'table.txt'), 'w') as f:
        f.write(table)
    with open(os.path.join(outdir, 'results.csv'), 'w') as f:
        f.write('kernel,mix,n,' + ','.join(FIELDS) + ',floor_med,floor_p99\n')
        for label, res, floor in ((la, ra, fa), (lb, rb, fb)):
            for k in keys:
                f.write('%s,%s,%d,%s,%d,%d\n' % (label, k[0], k[1],
                        ','.join(str(res[k][x]) for x in FIELDS),
                        floor['med'], floor['p99']))
    # gnuplot: pair cost against N, log scales; N=0 is drawn at N=1.
    data = os.path.join(outdir, 'pair.dat')
    with open(data, 'w') as f:
        for label, res in ((la, ra), (lb, rb)):
            for mix in ('noncoherent', 'coherent'):
                f.write('# %s %s\n' % (label, mix))
                for k in keys:
                    if k[0] == mix:
                        f.write('%d %.3f\n' % (max(k[1], 1), res[k]['pair_med'] / 1000.0))
                f.write('\n\n')
    gp = os.path.join(outdir, 'pair.gp')
    with open(gp, 'w') as f:
        f.write('set terminal pngcairo size 900,560 noenhanced\n'
                'set output "%s"\n'
                'set title "KVM-VFIO: ADD+DEL of one more file, median (N=0 drawn at 1)"\n'
                'set xlabel "files already tracked (N)"\n'
                'set ylabel "us per ADD+DEL pair"\n'
                'set logscale xy\nset grid\nset key top left\n'
                'plot "%s" index 0 with linespoints title "%s noncoherent (mtty)", \\\n'
                '     "%s" index 1 with linespoints title "%s coherent (edu)", \\\n'
                '     "%s" index 2 with linespoints title "%s noncoherent (mtty)", \\\n'
                '     "%s" index 3 with linespoints title "%s coherent (edu)"\n' %
                (os.path.join(outdir, 'pair.png'), data, la, data, la, data, lb, data, lb))
    if shutil.which('gnuplot'):
        subprocess.run(['gnuplot', gp], check=False)
    print(table, end='')
    print('results: %s (table.txt, results.csv, pair.png)' % outdir)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
