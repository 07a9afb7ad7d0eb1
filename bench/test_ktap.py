#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of the verdict (bench/ktap.py), as kunit_tool_test.py tests
kunit.py: console logs that must pass it, and for every failure class it
knows a log that must fail it, each with the exact line its summary
prints.

  test_ktap.py [-v] [--log FILE [--run-id ID]]

The logs are a complete, passing console of a kernel built from the suite
table itself (good_log: what bench/suites says that kernel must show),
then broken in one place each (the hand-made fixtures of
bench/test_data/ are inserted into it, or a line is changed or dropped).
A log is judged exactly as make check and make test judge one.

Ends with "N passed, N failed"; --log FILE also writes the results as a
log the verdict reads (the "verdict-selftest" suite of make check's
static step).
"""
import io
import os
import re
import sys
import tempfile
import unittest
from contextlib import redirect_stdout, redirect_stderr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ktap  # noqa: E402
import mutants  # noqa: E402
import suites  # noqa: E402

DATA = os.path.join(HERE, 'test_data')
RID = '20261206-120000-42'
ASKED = {'fuzz': 20000, 'stress': 100000, 'cycles': 100, 'races': 60}
STAGE_ORDER = ('early', 'nomod', 'main')


def fixture(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read().rstrip('\n').split('\n')


def figure_lines(tab, label, asked):
    """Figure lines that meet every figure row of LABEL."""
    figs = {}
    for f in tab.figures(label):
        vals = figs.setdefault(f.name, {})
        if f.key == '-':
            continue
        if f.asked and f.asked not in asked:
            figs.pop(f.name) if not vals else None
            continue
        if f.asked:
            vals[f.key] = asked[f.asked]
        elif f.most is not None:
            vals[f.key] = 0
        elif f.pct is not None:
            vals.setdefault(f.key, None)
        else:
            vals[f.key] = max(f.least, 1)
    out = []
    for name, vals in figs.items():
        for k, v in vals.items():
            if v is None:
                # "P%OTHER": as much as OTHER.
                other = [f.of for f in tab.figures(label)
                         if f.name == name and f.key == k][0]
                vals[k] = vals.get(other, 1)
        if name == 'dkms-module':
            out.append('# kvm-vfio-figures: dkms-module /lib/modules/x/'
                       'kvm-vfio.ko srcversion 0ABC')
        else:
            out.append('# kvm-vfio-figures: %s %s' % (name, ' '.join(
                '%s=%d' % kv for kv in vals.items())))
    return out


def good_log(label, asked=None, tab=None):
    """A console log of LABEL that meets the suite table, as lines."""
    tab = tab or suites.Table()
    if asked is None:
        asked = {k: v for k, v in ASKED.items()
                 if any(f.bound.startswith('asked:' + k)
                        for f in tab.figures(label))}
    runs = tab.runs(label)
    lines = ['# kvm-vfio-bench: run %s kernel %s mode check%s' %
             (RID, label, ''.join(' %s=%d' % kv for kv in asked.items())
              and ' asked' + ''.join(' %s=%d' % kv
                                     for kv in asked.items()))]
    t = 1.0
    boot = [r for r in runs if r.stage == 'boot']
    if boot:
        lines += ['[    0.500000] KTAP version 1',
                  '[    0.500000] 1..%d' % len(boot)]
        for n, r in enumerate(boot, 1):
            name = r.suite.split(':', 1)[1]
            lines += ['[    0.600000]     KTAP version 1',
                      '[    0.600000]     # Subtest: %s' % name,
                      '[    0.600000]     1..%d' % (r.plan or 1)]
            lines += ['[    0.700000]     ok %d %s_case_%d' % (i, name, i)
                      for i in range(1, (r.plan or 1) + 1)]
            lines.append('[    0.800000] ok %d %s' % (n, name))
    if all(r.stage == 'host' for r in runs):
        progs, host = [r for r in runs if r.stage == 'host'], True
        lines.append('# kvm-vfio-guest: run id %s' % RID)
    else:
        host = False
        progs = [r for s in STAGE_ORDER for r in runs if r.stage == s]
        lines += ['[    2.000000] Run /init as init process',
                  '# kvm-vfio-guest: run id %s' % RID,
                  'KTAP version 1', '1..%d' % len(progs)]
    for k, r in enumerate(progs, 1):
        n = r.plan or 1
        lines.append('# kvm-vfio-guest: running %s at %.2f timeout %d' %
                     (r.suite, t, r.timeout or 0))
        lines += ['TAP version 13', '1..%d' % n]
        lines += ['ok %d %s.case_%d' % (i, r.suite, i)
                  for i in range(1, n + 1)]
        if not host:
            lines.append('# Totals: pass:%d fail:0 xfail:0 xpass:0 skip:0 '
                         'error:0' % n)
        t += 10
        lines.append('# kvm-vfio-guest: %s exited 0 at %.2f' % (r.suite, t))
        if not host:
            lines.append('ok %d %s' % (k, r.suite))
    if not host:
        lines += figure_lines(tab, label, asked)
        bits = sum(1 << suites.TAINT_FLAGS.index(c)
                   for c in tab.taint_allowed(label))
        if tab.nodetector(label, 'kmemleak') is not None:
            lines.append('# kmemleak: not available')
        lines += ['# kvm-vfio-guest: tainted %d' % bits,
                  '# kvm-vfio-guest: debug_locks %s' %
                  ('1' if tab.nodetector(label, 'lockdep') is None
                   else 'unavailable'),
                  '# kvm-vfio-guest: end at %.2f' % t]
    lines.append('# kvm-vfio-guest: done')
    return lines


def verdict(logs, run_id=RID, table=None, compare=(), oracles=(),
            only=None):
    """Run the verdict as make check does; (exit status, its output)."""
    args = ['--run-id', run_id] if run_id else []
    if table:
        args += ['--suites', table]
    if only:
        args += ['--only', ' '.join(only)]
    for o in oracles:
        args += ['--oracle', o]
    with tempfile.TemporaryDirectory() as d:
        for i, (label, lines) in enumerate(logs):
            p = os.path.join(d, '%d.log' % i)
            if lines is not None:
                with open(p, 'w') as f:
                    f.write('\n'.join(lines) + '\n')
            args.append('%s=%s' % (label, p))
        for c in compare:
            args += ['--compare', c]
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = ktap.main(args)
    return rc, out.getvalue() + err.getvalue()


def insert_after(lines, pattern, new):
    """LINES with NEW inserted after the first line matching PATTERN."""
    for i, l in enumerate(lines):
        if re.search(pattern, l):
            return lines[:i + 1] + new + lines[i + 1:]
    raise AssertionError('no line matches %s' % pattern)


def replace(lines, pattern, new):
    """LINES with the first line matching PATTERN replaced by NEW."""
    for i, l in enumerate(lines):
        if re.search(pattern, l):
            return lines[:i] + new + lines[i + 1:]
    raise AssertionError('no line matches %s' % pattern)


class Base(unittest.TestCase):
    label = '6.12-ours'

    def good(self):
        return good_log(self.label)

    def runner_no(self, prog):
        """The guest runner's number of PROG in the good log."""
        for l in self.good():
            m = re.match(r'^ok (\d+) %s$' % re.escape(prog), l)
            if m:
                return int(m.group(1))
        raise AssertionError('no runner line for %s' % prog)

    def nr_progs(self):
        """How many programs the guest runner plans in the good log."""
        log = self.good()
        return int(log[log.index('KTAP version 1', 1) + 1].split('..')[1])

    def fails(self, lines, *expected, label=None, **kw):
        """The verdict fails LINES, printing every EXPECTED line."""
        rc, out = verdict([(label or self.label, lines)], **kw)
        self.assertEqual(rc, 1, 'the verdict passed:\n' + out)
        last = out.strip().split('\n')[-1]
        self.assertRegex(last, r'^\d+ passed, [1-9]\d* failed, \d+ skipped$')
        for e in expected:
            self.assertIn(e, out, 'missing "%s" in:\n%s' % (e, out))
        return out

    def passes(self, lines, label=None, **kw):
        rc, out = verdict([(label or self.label, lines)], **kw)
        self.assertEqual(rc, 0, 'the verdict failed:\n' + out)
        self.assertRegex(out.strip().split('\n')[-1],
                         r'^[1-9]\d* passed, 0 failed, \d+ skipped$')
        return out


class Passing(Base):
    """Logs of correct kernels, built from the table, pass."""

    def test_every_check_kernel_passes(self):
        tab = suites.Table()
        labels = ['6.12-ours', '6.12-module', '6.12-stock', '7.3-ours',
                  '7.3-module', '7.3-stock', '7.3-stockfix',
                  '6.12-ours-ppc64', '6.12-module-ppc64',
                  '6.12-stockfix-ppc64', '6.12-ours-arm64',
                  '6.12-stock-arm64', '6.12-static-checks']
        for label in labels:
            with self.subTest(label=label):
                self.passes(good_log(label, tab=tab), label=label)

    def test_what_does_not_run_is_named(self):
        out = self.passes(good_log('6.12-ours-ppc64'), label='6.12-ours-ppc64')
        self.assertIn('not run here: kvm_vfio_fail_nth_test (its fixtures', out)

    def test_counts_every_case(self):
        out = self.passes(self.good())
        n = sum((r.plan or 1) for r in suites.Table().runs(self.label))
        self.assertIn('%d passed, 0 failed, 0 skipped' % n, out)

    def test_allowed_skip_passes(self):
        log = replace(good_log('6.12-stock'),
                      r'^ok 1 kvm_vfio_trace_test\.case_1$',
                      ['ok 1 kvm_vfio_trace_test.case_1 # SKIP feature '
                       'absent: no kvm_vfio trace events'])
        log = replace(log, r'^# Totals: pass:10 ',
                      ['# Totals: pass:9 fail:0 xfail:0 xpass:0 skip:1 '
                       'error:0'])
        self.passes(log, label='6.12-stock')

    def test_reused_oracle_passes(self):
        log = good_log('6.12-stock')
        log = [log[0], '# kvm-vfio-bench: reused run OLD key 1'] + \
            [l.replace(RID, 'OLD') if 'run id' in l else l for l in log[1:]]
        self.passes(log, label='6.12-stock', oracles=['6.12-stock'])


class IssueLogs(Base):
    """The seven hand-made logs that passed the old verdict."""

    def test_bad_unlock_balance(self):
        self.fails(insert_after(self.good(), 'running kvm_vfio_test ',
                                fixture('lockdep-bad-unlock.log')),
                   'FAILED: kernel report: WARNING: bad unlock balance '
                   'detected!')

    def test_lock_held_returning_to_user(self):
        self.fails(insert_after(self.good(), 'running kvm_vfio_test ',
                                fixture('lockdep-held-return.log')),
                   'FAILED: kernel report: WARNING: lock held when '
                   'returning to user space!')

    def test_non_static_key(self):
        self.fails(insert_after(self.good(), 'running kvm_vfio_test ',
                                fixture('lockdep-non-static-key.log')),
                   'FAILED: kernel report: INFO: trying to register '
                   'non-static key.')

    def test_rcu_stall(self):
        self.fails(insert_after(self.good(), 'running kvm_vfio_stress_test',
                                fixture('rcu-stall.log')),
                   'FAILED: kernel report: rcu: INFO: rcu_sched detected '
                   'stalls on CPUs/tasks:')

    def test_exit_marker_lost(self):
        log = [l for l in self.good()
               if not l.startswith('# kvm-vfio-guest: kvm_vfio_fuzz_test '
                                   'exited')]
        self.fails(log, 'FAILED: (exit status lost)',
                   'note: its exit status was never printed')

    def test_exit_marker_split_by_printk(self):
        log = replace(self.good(), r'kvm_vfio_fuzz_test exited 0',
                      ['# kvm-vfio-gu[   12.000000] kvm: a message',
                       'est: kvm_vfio_fuzz_test exited 0 at 30.00'])
        self.fails(log, 'FAILED: (exit status lost)')

    def test_duplicate_result(self):
        log = self.good()
        i = log.index('ok 1 kvm_vfio_test.case_1')
        log = log[:i] + ['ok 1 fix.same'] * 67 + log[i + 67:]
        self.fails(log, 'result "fix.same" is number 1 where 2 was expected',
                   'case fix.same reported twice')

    def test_fuzzer_did_nothing(self):
        log = replace(self.good(), r'kvm-vfio-figures: fuzz ',
                      ['# kvm-vfio-figures: fuzz calls=0 reached=0 '
                       'seed=0x6b766d76 seconds=0.0'])
        self.fails(log, 'FAILED: figure fuzz calls = 0, below its minimum '
                   '20000 (asked fuzz=20000')


class Reports(Base):
    """Every kernel report class fails, named."""

    def test_warn(self):
        self.fails(insert_after(self.good(), 'running kvm_vfio_test ',
                                fixture('warn.log')),
                   'FAILED: kernel report: WARNING: CPU: 1 PID: 234 at '
                   'virt/kvm/vfio.c:321 kvm_vfio_file_add+0x1e4/0x260')

    def test_every_lockdep_banner(self):
        for banner in ['possible circular locking dependency detected',
                       'kvm_vfio_test/1 still has locks held!',
                       'held lock freed!',
                       'HARDIRQ-safe -> HARDIRQ-unsafe lock order detected',
                       'possible irq lock inversion dependency detected',
                       'possible recursive locking detected',
                       'inconsistent lock state',
                       'suspicious RCU usage',
                       'Nested lock was not taken']:
            with self.subTest(banner=banner):
                self.fails(insert_after(
                    self.good(), 'running kvm_vfio_test ',
                    ['[   20.000000] ' + '=' * 40,
                     '[   20.000000] WARNING: ' + banner,
                     '[   20.000000] 6.12.0 #1 Not tainted']),
                    'FAILED: kernel report: WARNING: ' + banner)

    def test_report_mid_line(self):
        log = replace(self.good(), r'^ok 3 kvm_vfio_test.case_3$',
                      ['ok 3 kvm_vfio_t[   20.000000] BUG: KASAN: '
                       'slab-use-after-free in kvm_vfio_release+0x1/0x2',
                       'est.case_3'])
        self.fails(log, 'FAILED: kernel report: BUG: KASAN: '
                   'slab-use-after-free in kvm_vfio_release+0x1/0x2')

    def test_oom(self):
        self.fails(insert_after(self.good(), 'running kvm_vfio_stress_test',
                                ['[  300.000000] kvm_vfio_stres invoked '
                                 'oom-killer: gfp_mask=0xcc0(GFP_KERNEL)']),
                   'FAILED: kernel report: kvm_vfio_stres invoked oom-killer')

    def test_nmi_handler_note_is_harmless(self):
        self.passes(insert_after(self.good(), 'running kvm_vfio_stress_test',
                                 ['[  300.000000] INFO: NMI handler '
                                  '(perf_event_nmi_handler) took too long to '
                                  'run: 1.234 msecs']))

    def test_hung_task(self):
        self.fails(insert_after(self.good(), 'running kvm_vfio_stress_test',
                                ['[  300.000000] INFO: task kvm_vfio_stres:'
                                 '99 blocked for more than 240 seconds.']),
                   'FAILED: kernel report: INFO: task kvm_vfio_stres:99 '
                   'blocked for more than 240 seconds.')

    def test_soft_lockup(self):
        self.fails(insert_after(self.good(), 'running kvm_vfio_stress_test',
                                ['[  300.000000] watchdog: BUG: soft lockup '
                                 '- CPU#1 stuck for 123s! [kvm_vfio_stres:9]'
                                 ]),
                   'FAILED: kernel report: watchdog: BUG: soft lockup')

    def test_crash_after_some_results(self):
        log = self.good()
        i = log.index('ok 40 kvm_vfio_test.case_40')
        log = log[:i] + fixture('panic.log')
        self.fails(log, 'FAILED: kernel report: Kernel panic - not syncing: '
                   'Fatal exception',
                   'FAILED: (did not finish)',
                   'FAILED: the guest never reported "done"')

    def test_hang(self):
        log = self.good()
        i = log.index('ok 2 kvm_vfio_stress_test.case_2')
        log = log[:i] + ['# kvm-vfio-bench: FAILED: guest did not finish '
                         'within 1500s (hang)']
        self.fails(log, 'FAILED: the host: guest did not finish within '
                   '1500s (hang)', 'FAILED: the guest never reported "done"')

    def test_program_timeout(self):
        log = self.good()
        i = log.index('ok 2 kvm_vfio_stress_test.case_2')
        k = self.runner_no('kvm_vfio_stress_test')
        j = log.index('ok %d kvm_vfio_stress_test' % k)
        log = log[:i] + ['# kvm-vfio-guest: kvm_vfio_stress_test exited 143 '
                         'at 900.00',
                         'not ok %d kvm_vfio_stress_test # TIMEOUT after '
                         '1200 s' % k] + log[j + 1:]
        self.fails(log, 'FAILED: kvm_vfio_stress_test: not ok, TIMEOUT '
                   'after 1200 s', 'plan 1..4, but 1 results')


class Structure(Base):
    """KTAP structure: numbering, plans, exit statuses, the runner."""

    def test_plan_not_met(self):
        log = [l for l in self.good()
               if l != 'ok 31 kvm_vfio_driver_test.case_31']
        self.fails(log, 'note: plan 1..31, but 30 results')

    def test_gap_in_numbers(self):
        log = replace(self.good(), r'^ok 7 kvm_vfio_test.case_7$',
                      ['ok 8 kvm_vfio_test.case_7'])
        self.fails(log, 'result "kvm_vfio_test.case_7" is number 8 where 7 '
                   'was expected')

    def test_plan_differs_from_table(self):
        log = self.good()
        i = log.index('ok 10 kvm_vfio_trace_test.case_10')
        log = replace(log[:i] + log[i + 1:],
                      r'^1\.\.10$', ['1..9'])
        log = replace(log, r'^# Totals: pass:10 ',
                      ['# Totals: pass:9 fail:0 xfail:0 xpass:0 skip:0 '
                       'error:0'])
        self.fails(log, 'note: plan 9 with 9 results; bench/suites wants 10')

    def test_exit_nonzero_without_failed_case(self):
        log = replace(self.good(), r'kvm_vfio_trace_test exited 0',
                      ['# kvm-vfio-guest: kvm_vfio_trace_test exited 1 at '
                       '99.00'])
        log = replace(log, r'^ok \d+ kvm_vfio_trace_test$',
                      ['not ok %d kvm_vfio_trace_test # exit status 1' %
                       self.runner_no('kvm_vfio_trace_test')])
        self.fails(log, 'note: exited 1 with no failed case')

    def test_totals_disagree(self):
        log = replace(self.good(), r'^# Totals: pass:10 ',
                      ['# Totals: pass:9 fail:1 xfail:0 xpass:0 skip:0 '
                       'error:0'])
        self.fails(log, 'its "# Totals" line (pass 9, fail 1, skip 0) does '
                   'not match its results (10, 0, 0)')

    def test_runner_plan_not_met(self):
        log = self.good()
        i = next(i for i, l in enumerate(log) if l.startswith(
            '# kvm-vfio-guest: running kvm_vfio_trace_test at '))
        j = log.index('ok %d kvm_vfio_trace_test' %
                      self.runner_no('kvm_vfio_trace_test'))
        log = log[:i] + log[j + 1:]
        n = self.nr_progs()
        self.fails(log, 'FAILED: kvm_vfio_trace_test did not run',
                   'FAILED: the guest runner planned %d programs and '
                   'reported %d' % (n, n - 1))

    def test_runner_plan_differs_from_table(self):
        n = self.nr_progs()
        log = replace(self.good(), r'^1\.\.%d$' % n, ['1..%d' % (n - 1)])
        self.fails(log, 'FAILED: the guest runner planned %d programs; '
                   'bench/suites has %d for 6.12-ours' % (n - 1, n))

    def test_suite_not_in_table(self):
        log = insert_after(self.good(), r'^ok \d+ kvm_vfio_trace_test$',
                           ['# kvm-vfio-guest: running extra_test at 1.0',
                            '1..1', 'ok 1 x',
                            '# kvm-vfio-guest: extra_test exited 0 at 2.0'])
        self.fails(log, 'FAILED: extra_test ran, but bench/suites does not '
                   'list it for 6.12-ours')

    def test_program_excuses_its_own_failure(self):
        for line in ['not ok 5 kvm_vfio_test.case_5 # XFAIL flaky',
                     'ok 5 kvm_vfio_test.case_5 # XFAIL flaky',
                     'ok 5 kvm_vfio_test.case_5 # XPASS']:
            with self.subTest(line=line):
                self.fails(replace(self.good(),
                                   r'^ok 5 kvm_vfio_test.case_5$', [line]),
                           'FAILED: kvm_vfio_test.case_5')

    def test_second_plan(self):
        log = insert_after(self.good(), r'^1\.\.31$', ['1..31'])
        self.fails(log, 'note: printed a second plan 1..31')

    def test_exit_marker_without_running(self):
        log = insert_after(self.good(), r'^ok \d+ kvm_vfio_trace_test$',
                           ['# kvm-vfio-guest: ghost_test exited 0 at 9.0'])
        self.fails(log, 'FAILED: "ghost_test exited" without its "running" '
                   'marker')

    def test_runner_disagrees_with_exit_status(self):
        k = self.runner_no('kvm_vfio_trace_test')
        log = replace(self.good(), r'^ok %d kvm_vfio_trace_test$' % k,
                      ['not ok %d kvm_vfio_trace_test # exit status 1' % k])
        self.fails(log, 'FAILED: runner result for kvm_vfio_trace_test '
                   '(not ok) disagrees with its exit status 0')

    def test_kunit_suite_unfinished(self):
        log = [l for l in self.good() if l != '[    0.800000] ok 1 kvm-vfio']
        self.fails(log, 'note: never printed its result line')

    def test_kunit_top_plan_not_met(self):
        log = replace(self.good(), r'^\[    0.500000\] 1\.\.1$',
                      ['[    0.500000] 1..2'])
        self.fails(log, 'FAILED: KUnit planned 2 suites and reported [1]')

    def test_kunit_case_missing(self):
        n = next(r.plan for r in suites.Table().runs(self.label)
                 if r.suite == 'kunit:kvm-vfio')
        log = [l for l in self.good() if 'kvm-vfio_case_%d' % n not in l]
        self.fails(log, 'note: plan 1..%d, but %d results' % (n, n - 1))


class KernelVerdict(Base):
    """The taint and debug_locks the guest prints last."""

    def test_taint_warn(self):
        log = replace(self.good(), r'kvm-vfio-guest: tainted',
                      ['# kvm-vfio-guest: tainted %d' % (512 | (1 << 18))])
        self.fails(log, 'FAILED: kernel tainted W (a WARN), which bench/'
                   'suites does not allow on 6.12-ours')

    def test_taint_allowed(self):
        log = replace(good_log('6.12-module'), r'kvm-vfio-guest: tainted',
                      ['# kvm-vfio-guest: tainted 4096'])
        self.passes(log, label='6.12-module')

    def test_debug_locks_off(self):
        log = replace(self.good(), r'kvm-vfio-guest: debug_locks',
                      ['# kvm-vfio-guest: debug_locks 0'])
        self.fails(log, 'FAILED: debug_locks 0: lockdep turned itself off')

    def test_no_kernel_verdict(self):
        log = [l for l in self.good() if 'tainted' not in l]
        self.fails(log, 'FAILED: the guest printed no taint')

    def test_lockdep_missing_unexcused(self):
        log = replace(self.good(), r'kvm-vfio-guest: debug_locks',
                      ['# kvm-vfio-guest: debug_locks unavailable'])
        self.fails(log, 'FAILED: lockdep is not in the guest\'s kernel '
                   '(debug_locks unavailable), and no nodetector row')

    def test_kmemleak_missing_unexcused(self):
        log = insert_after(self.good(), r'kvm-vfio-figures: kmemleak',
                           ['# kmemleak: not available'])
        self.fails(log, 'FAILED: kmemleak is not available in the guest, '
                   'and no nodetector row')

    def test_kernel_without_detectors_says_so(self):
        for label in ('6.12-debian', '6.1-debian'):
            with self.subTest(label=label):
                out = self.passes(good_log(label), label=label)
                self.assertIn('not checked here: lockdep (', out)
                self.assertIn('not checked here: kmemleak (', out)

    def test_nodetector_row_of_a_kernel_with_lockdep(self):
        log = replace(good_log('6.12-debian'), r'kvm-vfio-guest: debug_locks',
                      ['# kvm-vfio-guest: debug_locks 1'])
        self.fails(log, 'FAILED: lockdep ran on 6.12-debian (debug_locks 1), '
                   'whose nodetector row says it cannot', label='6.12-debian')

    def test_nodetector_row_of_a_kernel_with_kmemleak(self):
        log = [l for l in good_log('6.12-debian')
               if l != '# kmemleak: not available']
        self.fails(log, 'FAILED: kmemleak ran on 6.12-debian, whose '
                   'nodetector row says it cannot', label='6.12-debian')


def skip_whole(lines, name, reason):
    """LINES with program NAME skipping as a whole, as TEST_REQUIRE
    makes it: plan 0 with the reason, exit status 4 (KSFT_SKIP)."""
    start = lines.index(next(l for l in lines if re.match(
        r'^# kvm-vfio-guest: running %s at ' % re.escape(name), l)))
    end = lines.index(next(l for l in lines[start:] if re.match(
        r'^# kvm-vfio-guest: %s exited 0 at ' % re.escape(name), l)))
    k = int(lines[end + 1].split()[1])
    return lines[:start + 1] + [
        'Random seed: 0x1', '1..0 # SKIP %s' % reason,
        lines[end].replace(' exited 0 ', ' exited 4 '),
        'not ok %d %s # exit status 4' % (k, name)] + lines[end + 2:]


class WholeProgramSkip(Base):
    """A program that skips before any case ("1..0 # SKIP")."""

    def setUp(self):
        # bench/suites and a row that lets kvm_vfio_test skip as a whole
        # on 6.12-ours for want of the capability.
        with open(os.path.join(HERE, 'suites')) as f:
            rows = f.read()
        self.table = tempfile.NamedTemporaryFile('w', suffix='suites')
        self.table.write(rows + '\nskip 6.12-ours kvm_vfio_test - '
                         'Requirement not met: kvm_has_cap\n')
        self.table.flush()

    def tearDown(self):
        self.table.close()

    def test_allowed_by_a_row(self):
        log = skip_whole(self.good(), 'kvm_vfio_test',
                         '- Requirement not met: '
                         'kvm_has_cap(KVM_CAP_DEVICE_CTRL)')
        out = self.passes(log, table=self.table.name)
        self.assertIn('skipped as a whole: Requirement not met: '
                      'kvm_has_cap(KVM_CAP_DEVICE_CTRL)', out)
        self.assertRegex(out, r'kvm_vfio_test +0 passed, 0 failed, '
                         r'1 skipped')

    def test_not_allowed_without_a_row(self):
        log = skip_whole(self.good(), 'kvm_vfio_test',
                         '- Requirement not met: '
                         'kvm_has_cap(KVM_CAP_DEVICE_CTRL)')
        self.fails(log, 'skipped as a whole (Requirement not met: '
                   'kvm_has_cap(KVM_CAP_DEVICE_CTRL)), which bench/suites '
                   'does not allow on 6.12-ours')

    def test_other_reason_not_allowed(self):
        log = skip_whole(self.good(), 'kvm_vfio_test', 'no /dev/kvm')
        self.fails(log, 'skipped as a whole (no /dev/kvm)',
                   table=self.table.name)

    def test_skip_all_after_results_fails(self):
        log = insert_after(self.good(), r'^ok 1 kvm_vfio_test\.case_1$',
                           ['1..0 # SKIP late'])
        self.fails(log)


class Figures(Base):
    def test_stress_below_asked(self):
        log = replace(self.good(), r'kvm-vfio-figures: stress',
                      ['# kvm-vfio-figures: stress ops=5000 threads=4 '
                       'seconds=1.0 seed=0x1 vms=3'])
        self.fails(log, 'FAILED: figure stress ops = 5000, below its minimum '
                   '99997 (asked stress=100000')

    def test_figure_missing(self):
        log = [l for l in self.good() if 'figures: stress' not in l]
        self.fails(log, 'FAILED: no "stress" figure')

    def test_figure_without_its_value(self):
        log = replace(self.good(), r'kvm-vfio-figures: stress',
                      ['# kvm-vfio-figures: stress threads=4 seconds=1.0'])
        self.fails(log, 'FAILED: the "stress" figure has no ops')

    def test_sweep_injected_nothing(self):
        log = replace(self.good(), r'figures: fail_nth ADD cdev ',
                      ['# kvm-vfio-figures: fail_nth ADD cdev '
                       'failure_points=0'])
        self.fails(log, 'FAILED: figure fail_nth ADD cdev failure_points = '
                   '0, below its minimum 1')

    def test_leak_elsewhere(self):
        log = replace(self.good(), r'figures: kmemleak',
                      fixture('kmemleak-elsewhere.log'))
        self.fails(log, 'FAILED: kmemleak: an object leaked outside the '
                   'device: 0xffff888006b1e000 (size 232)')

    def test_known_leak_is_expected(self):
        log = replace(good_log('6.12-ours-ppc64'), r'figures: kmemleak',
                      fixture('kmemleak-known-ppc64.log'))
        out = self.passes(log, label='6.12-ours-ppc64')
        self.assertIn('expected: 1 kmemleak record(s) naming '
                      'spapr_tce_create_table', out)

    def test_known_leak_only_where_listed(self):
        log = replace(self.good(), r'figures: kmemleak',
                      fixture('kmemleak-known-ppc64.log'))
        self.fails(log, 'FAILED: kmemleak: an object leaked outside the '
                   'device: 0xc0000000024b0400')

    def test_kmemleak_did_not_run(self):
        log = replace(self.good(), r'figures: kmemleak',
                      ['# kmemleak: not available'])
        self.fails(log, 'FAILED: no "kmemleak" figure')

    def test_module_cycles_below_asked(self):
        log = replace(good_log('6.12-module'), r'figures: module-cycles',
                      ['# kvm-vfio-figures: module-cycles 10 autoloads 10 '
                       'seconds 1.0 load+create 1.0 unload 1.0'])
        self.fails(log, 'FAILED: figure module-cycles module-cycles = 10, '
                   'below its minimum 100', label='6.12-module')

    def test_module_races_below_asked(self):
        log = replace(good_log('6.12-module'),
                      r'figures: module-race create-vs-rmmod',
                      ['# kvm-vfio-figures: module-race create-vs-rmmod '
                       'iterations 3 ok 3 enodev 0 other 0 unloads 1'])
        self.fails(log, 'FAILED: figure module-race create-vs-rmmod '
                   'iterations = 3, below its minimum 60',
                   label='6.12-module')


class Identity(Base):
    """A log counts only for this run and this kernel."""

    def test_stale_log(self):
        log = [l.replace(RID, 'OLDRUN') for l in self.good()]
        self.fails(log, 'FAILED: the log is not this run\'s (it names run '
                   'OLDRUN, this is %s)' % RID)

    def test_another_kernels_log(self):
        self.fails(good_log('7.3-ours'), 'FAILED: the log is kernel 7.3-ours'
                   '\'s, not 6.12-ours\'s')

    def test_guest_of_another_run(self):
        log = replace(self.good(), r'kvm-vfio-guest: run id',
                      ['# kvm-vfio-guest: run id OTHER'])
        self.fails(log, 'FAILED: the guest named run OTHER, expected %s' %
                   RID)

    def test_reuse_only_for_oracles(self):
        log = self.good()
        log = [log[0], '# kvm-vfio-bench: reused run OLD key 1'] + log[1:]
        self.fails(log, 'FAILED: results reused from run OLD, but only an '
                   'oracle kernel may reuse results')

    def test_reused_after_host_messages(self):
        log = good_log('6.12-stock')
        log = [log[0], '==> guest: compiling kvm_vfio_fuzz_test',
               '# kvm-vfio-bench: reused run OLD key 1'] + \
            [l.replace(RID, 'OLD') if 'run id' in l else l for l in log[1:]]
        self.passes(log, label='6.12-stock', oracles=['6.12-stock'])

    def test_missing_log(self):
        self.fails(None, 'FAILED: no log at')

    def test_guest_died_before_init(self):
        log = self.good()[:1] + fixture('panic.log')
        self.fails(log, 'FAILED: the guest never echoed its run id')


class Skips(Base):
    def test_unlisted_skip(self):
        log = replace(self.good(), r'^ok 5 kvm_vfio_test.case_5$',
                      ['ok 5 kvm_vfio_test.case_5 # SKIP no /dev/kvm'])
        log = replace(log, r'^# Totals: pass:68 ',
                      ['# Totals: pass:67 fail:0 xfail:0 xpass:0 skip:1 '
                       'error:0'])
        self.fails(log, 'note: kvm_vfio_test.case_5 skipped (no /dev/kvm), '
                   'which bench/suites does not allow on 6.12-ours')

    def test_skip_allowed_only_where_listed(self):
        log = replace(self.good(), r'^ok 1 kvm_vfio_trace_test\.case_1$',
                      ['ok 1 kvm_vfio_trace_test.case_1 # SKIP feature '
                       'absent: no kvm_vfio trace events'])
        log = replace(log, r'^# Totals: pass:10 ',
                      ['# Totals: pass:9 fail:0 xfail:0 xpass:0 skip:1 '
                       'error:0'])
        self.fails(log, 'which bench/suites does not allow on 6.12-ours')


class KnownBugs(Base):
    """xfail rows: the known upstream bug must show, exactly as listed."""
    table = os.path.join(DATA, 'suites-xfail')
    label = '6.12-stock-ppc64'

    def log(self, warns, case_ok=False):
        tab = suites.Table(self.table)
        log = good_log(self.label, tab=tab)
        if not case_ok:
            log = replace(log, r'^ok 2 kvm_vfio_spapr_test\.case_2$',
                          ['not ok 2 group.del_without_table_no_warn'])
            log = replace(log, r'^# Totals: ',
                          ['# Totals: pass:2 fail:1 xfail:0 xpass:0 skip:0 '
                           'error:0'])
            log = replace(log, r'kvm_vfio_spapr_test exited 0',
                          ['# kvm-vfio-guest: kvm_vfio_spapr_test exited 1 '
                           'at 11.00'])
            log = replace(log, r'^ok 1 kvm_vfio_spapr_test$',
                          ['not ok 1 kvm_vfio_spapr_test # exit status 1'])
        return insert_after(log, 'running kvm_vfio_spapr_test',
                            fixture('known-warn.log') * warns)

    def test_known_bug_expected(self):
        out = self.passes(self.log(1), table=self.table)
        self.assertIn('expected: group.del_without_table_no_warn: known '
                      'upstream bug', out)

    def test_known_warn_missing(self):
        self.fails(self.log(0), 'FAILED: known upstream bug: expected 1 WARN '
                   'in kvm_spapr_tce_release_vfio_group, saw 0',
                   table=self.table)

    def test_known_warn_twice(self):
        self.fails(self.log(2), 'saw 2', table=self.table)

    def test_known_case_passes(self):
        self.fails(self.log(1, case_ok=True), 'FAILED: known upstream bug: '
                   'no case of kvm_vfio_spapr_test matching', table=self.table)

    def test_known_warn_mid_line(self):
        log = self.log(0)
        log = insert_after(log, 'running kvm_vfio_spapr_test', [
            '# a program line[   20.1] WARNING: CPU: 0 PID: 90 at arch/'
            'powerpc/kvm/book3s_64_vio.c:90 kvm_spapr_tce_release_vfio_group'
            '+0x1c0/0x1f0'])
        self.passes(log, table=self.table)


class Compare(Base):
    def test_difference_fails(self):
        a = good_log('6.12-stock')
        b = replace(good_log('6.12-ours'), r'^ok 4 kvm_vfio_test.case_4$',
                    ['not ok 4 kvm_vfio_test.case_4'])
        rc, out = verdict([('6.12-stock', a), ('6.12-ours', b)],
                          compare=['6.12-stock,6.12-ours'],
                          oracles=['6.12-stock'])
        self.assertEqual(rc, 1)
        self.assertIn('DIFFERS: kvm_vfio_test kvm_vfio_test.case_4: '
                      '6.12-stock=pass 6.12-ours=fail', out)


class Table(unittest.TestCase):
    def test_table_reads(self):
        suites.Table()

    def test_bad_row_is_named(self):
        with tempfile.NamedTemporaryFile('w', suffix='suites') as f:
            f.write('run *-ours kvm_vfio_test 67 300 later\n')
            f.flush()
            with self.assertRaisesRegex(suites.TableError,
                                        'stage "later" is not one of'):
                suites.Table(f.name)

    def test_plan_of_module_kernel(self):
        plan = suites.Table().plan('6.12-module')
        self.assertEqual(plan[0].split()[:3],
                         ['early', '300', 'kvm_vfio_module_test-early'])
        self.assertIn('KVM_VFIO_AUTOLOAD=kvm_vfio '
                      'kselftests/kvm_vfio_qemu_test.sh', plan[2])


class SomeSuites(Base):
    """make test SUITES=...: a run of some suites, held to those."""
    label = '6.12-module'
    only = ['kvm_vfio_module_test-early', 'kvm_vfio_module_test-loaded']

    def some(self):
        return good_log(self.label, tab=suites.Table(only=self.only))

    def test_some_suites_pass(self):
        out = self.passes(self.some(), only=self.only)
        self.assertIn('of its suites, kvm_vfio_module_test-early, '
                      'kvm_vfio_module_test-loaded only (SUITES=)', out)
        # KUnit is not a suite of the module kernel; the two phases are.
        tab = suites.Table(only=self.only)
        n = sum(r.plan for r in tab.runs(self.label)
                if r.suite in self.only)
        self.assertGreater(n, 2)
        self.assertRegex(out, r'\n%d passed, 0 failed, 0 skipped$' % n)

    def test_figures_of_suites_not_run_are_not_held(self):
        log = [l for l in good_log(self.label, asked=ASKED,
                                   tab=suites.Table(only=self.only))
               if not re.match(r'# kvm-vfio-figures: (fuzz|stress|regress|'
                               r'fail_nth) ', l)]
        self.assertIn('asked fuzz=20000 stress=100000', log[0])
        self.passes(log, only=self.only)

    def test_the_same_log_fails_the_full_verdict(self):
        self.fails(self.some(), 'FAILED: kvm_vfio_test did not run')

    def test_figure_of_a_suite_run_is_held(self):
        log = [l for l in self.some()
               if 'module-race create-vs-rmmod' not in l]
        self.fails(log, 'FAILED: no "module-race create-vs-rmmod" figure',
                   only=self.only)

    def test_kmemleak_is_held_whatever_ran(self):
        log = [l for l in self.some() if 'kmemleak' not in l]
        self.fails(log, 'FAILED: no "kmemleak" figure', only=self.only)

    def test_suite_not_asked_fails(self):
        log = good_log(self.label)
        self.fails(log, 'FAILED: kvm_vfio_test ran, but bench/suites does '
                   'not list it', only=self.only)

    def test_unknown_suite_is_named(self):
        self.fails(self.some(), 'SUITES names kvm_vfio_nothing, which '
                   '6.12-module does not run', only=['kvm_vfio_nothing'])

    def test_kunit_is_not_a_program(self):
        self.fails(good_log('6.12-ours'), 'SUITES names kunit:kvm-vfio, which '
                   '6.12-ours runs whatever the plan', label='6.12-ours',
                   only=['kunit:kvm-vfio'])

    def test_plan_holds_them_only(self):
        plan = suites.Table(only=['kvm_vfio_module_test-loaded']).plan(
            self.label)
        self.assertEqual([p.split()[2] for p in plan],
                         ['kvm_vfio_module_test-loaded'])

    def test_every_figure_has_its_source(self):
        """A figure row no source row names would be held in every run
        of some suites, whichever ran: each names its program."""
        tab = suites.Table()
        runs = {r.run.suite for r in tab.rows if r.kind == 'run'}
        for r in tab.rows:
            if r.kind == 'source':
                self.assertIn(r.fields[0], runs, 'line %d' % r.line)
            if r.kind == 'figure' and r.figure.name != 'kmemleak':
                for label in r.kernels:
                    self.assertIsNotNone(tab.source(label, r.figure.name),
                                         'line %d: %s' % (r.line,
                                                          r.figure.name))


class Mutants(unittest.TestCase):
    """bench/mutants stays in step with virt/kvm/vfio.c (make mutants)."""

    def write(self, text):
        f = tempfile.NamedTemporaryFile('w', suffix='.mutants', delete=False)
        self.addCleanup(os.unlink, f.name)
        f.write(text)
        f.close()
        return f.name

    @unittest.skipIf(os.environ.get('KVM_VFIO_MUTANT'),
                     'make mutants runs this copy with a mutant applied')
    def test_every_mutant_applies_once(self):
        found = mutants.parse(os.path.join(HERE, 'mutants'))
        self.assertGreaterEqual(len(found), 25)
        for m in found:
            mutants.apply(m, os.path.dirname(HERE), write=False)

    def test_block_not_found_or_twice(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, 'f.c'), 'w') as f:
                f.write('a;\nb;\na;\n')
            for old, count in (('c;', 0), ('a;', 2)):
                m = mutants.Mutant('m', 'ours', 'why', 'f.c', 1, [old], [])
                with self.assertRaisesRegex(mutants.Error,
                                            'occur %d times' % count):
                    mutants.apply(m, d, write=False)
            m = mutants.Mutant('m', 'ours', 'why', 'f.c', 1, ['b;'], ['c;'])
            mutants.apply(m, d)
            with open(os.path.join(d, 'f.c')) as f:
                self.assertEqual(f.read(), 'a;\nc;\na;\n')

    def test_malformed_entries(self):
        for text, msg in (
                ('mutant m ours\nfile f.c\n-a;\n', 'mutant NAME VARIANT'),
                ('mutant m ours -- why\n-a;\n', 'needs a file'),
                ('mutant m ours -- why\nfile f.c\n-a;\n+a;\n',
                 'changes nothing'),
                ('mutant m ours -- w\nfile f\n-a\n\n'
                 'mutant m ours -- w\nfile f\n-b\n', 'named twice'),
                ('-a;\n', 'outside a mutant')):
            with self.assertRaisesRegex(mutants.Error, msg):
                mutants.parse(self.write(text))


def main(argv):
    log = run_id = None
    verbosity = 1
    it = iter(argv)
    for a in it:
        if a == '--log':
            log = next(it)
        elif a == '--run-id':
            run_id = next(it)
        elif a == '-v':
            verbosity = 2
        else:
            print('usage: test_ktap.py [-v] [--log FILE [--run-id ID]]',
                  file=sys.stderr)
            return 2
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[__name__])
    names = [t.id() for t in _tests(suite)]
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=verbosity
                                     ).run(suite)
    sys.stderr.write(stream.getvalue())
    bad = {t.id(): 'fail' for t, _ in result.failures + result.errors}
    skipped = {t.id(): why for t, why in result.skipped}
    if log:
        with open(log, 'w') as f:
            f.write('# kvm-vfio-bench: run %s kernel verdict-selftest mode '
                    'lint\n' % (run_id or 'none'))
            f.write('# kvm-vfio-guest: run id %s\n' % (run_id or 'none'))
            f.write('# kvm-vfio-guest: running verdict-selftest\n')
            f.write('TAP version 13\n1..%d\n' % len(names))
            for n, name in enumerate(names, 1):
                f.write('%s %d %s%s\n' % (
                    'not ok' if name in bad else 'ok', n,
                    name.replace('__main__.', ''),
                    ' # SKIP ' + skipped[name] if name in skipped else ''))
            f.write('# kvm-vfio-guest: verdict-selftest exited %d\n' %
                    (1 if bad else 0))
            f.write('# kvm-vfio-guest: done\n')
    print('%d passed, %d failed%s' % (
        len(names) - len(bad) - len(skipped), len(bad),
        ', %d skipped' % len(skipped) if skipped else ''))
    return 1 if bad else 0


def _tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _tests(t)
        else:
            yield t


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
