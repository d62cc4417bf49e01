#!/usr/bin/perl
# ctest playground_panels: what the driver answers the page's BatchNorm panels is what the library
# says, checked on the native build (the browser test checks the page's own answers the same way).
#
#   test_panels.pl TWIN
use strict;
use warnings;
use JSON::PP qw(decode_json encode_json);

my ($twin) = @ARGV;
die "usage: $0 TWIN\n" unless defined $twin;
my $failures = 0;

# The answers to a list of requests, run in one process (one page session).
sub twin {
  my $args = join(' ', map { "'" . encode_json($_) . "'" } @_);
  return map { decode_json($_) } split /\n/, `'$twin' $args`;
}

sub check {
  my ($what, $ok) = @_;
  printf "%-72s %s\n", $what, $ok ? 'ok' : 'FAILS';
  ++$failures unless $ok;
}

sub worst {  # the largest |a - b| over two lists
  my ($a, $b) = @_;
  my $w = 0;
  for my $i (0 .. $#$a) { my $d = abs($a->[$i] - $b->[$i]); $w = $d if $d > $w; }
  return $w;
}

my ($made, undef, $state, $train, $eval, $gap, $running) = twin(
  {cmd => 'new_run'}, {cmd => 'step', steps => 50}, {cmd => 'bn_state', layer => 1},
  {cmd => 'bn_modes', layer => 1, mode => 'train'}, {cmd => 'bn_modes', layer => 1, mode => 'eval'},
  {cmd => 'bn_gap', layer => 0, sizes => [2, 5, 32]},
  {cmd => 'bn_running', layer => 0, channel => 3, momentum => 0.2, steps => 30});
my ($C, $N) = ($state->{channels}, $state->{batch}{N});
check("bn_state: 64 channels, a batch of 32, 50 batches tracked",
      $C == 64 && $N == 32 && $state->{num_batches_tracked} == 50);

# train(): the batch's statistics normalise, so each channel's output has mean beta and variance
# gamma^2 var / (var + eps); running statistics move by momentum 0.1 toward the batch's (with the
# unbiased variance).
my (@mean_err, @var_err, @rm_err, @rv_err);
for my $c (0 .. $C - 1) {
  my ($g, $b, $v) = ($state->{weight}[$c], $state->{bias}[$c], $state->{batch}{var}[$c]);
  push @mean_err, abs($train->{y_mean}[$c] - $b);
  push @var_err, abs($train->{y_var}[$c] / ($g * $g * $v / ($v + 1e-5)) - 1);
  push @rm_err, abs($train->{after}{running_mean}[$c]
                    - (0.9 * $train->{before}{running_mean}[$c] + 0.1 * $state->{batch}{mean}[$c]));
  push @rv_err, abs($train->{after}{running_var}[$c]
                    - (0.9 * $train->{before}{running_var}[$c] + 0.1 * $state->{batch}{var_unbiased}[$c]));
}
my $max = sub { my $m = 0; $_ > $m and $m = $_ for @_; $m };
check("train(): output mean = beta per channel", $max->(@mean_err) < 1e-5);
check("train(): output variance = gamma^2 var / (var + eps)", $max->(@var_err) < 1e-4);
check("train(): running_mean = 0.9 old + 0.1 batch mean", $max->(@rm_err) < 1e-5);
check("train(): running_var = 0.9 old + 0.1 unbiased batch variance", $max->(@rv_err) < 1e-5);
check("train(): num_batches_tracked + 1",
      $train->{after}{num_batches_tracked} == $train->{before}{num_batches_tracked} + 1);

# eval(): running statistics normalise, and nothing changes.
my @y;
for my $i (0 .. $N - 1) {
  for my $c (0 .. $C - 1) {
    push @y, ($eval->{x}[$i * $C + $c] - $state->{running_mean}[$c])
             / sqrt($state->{running_var}[$c] + 1e-5) * $state->{weight}[$c] + $state->{bias}[$c];
  }
}
check("eval(): y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta",
      worst(\@y, $eval->{y}) < 1e-4);
check("eval(): running statistics and num_batches_tracked unchanged",
      worst($eval->{before}{running_mean}, $eval->{after}{running_mean}) == 0
      && worst($eval->{before}{running_var}, $eval->{after}{running_var}) == 0
      && $eval->{before}{num_batches_tracked} == $eval->{after}{num_batches_tracked});

# The gap: eval/train = sqrt((n - 1) / n) on the batch that made the statistics.
for my $row (@{$gap->{rows}}) {
  check("bn_gap n = $row->{n}: measured ratio within 1e-5 of sqrt((n-1)/n)",
        abs($row->{ratio_min} - $row->{predicted}) < 1e-5
        && abs($row->{ratio_max} - $row->{predicted}) < 1e-5);
}
check("bn_gap: the trained layer's whole gap shrinks from n = 2 to n = 32",
      $gap->{rows}[0]{trained_gap} > $gap->{rows}[2]{trained_gap});

# Running statistics: momentum m is an exponential average from 0; None the plain average.
my ($ema, $sum, @ema_err, @avg_err) = (0, 0);
for my $k (0 .. $#{$running->{batch_mean}}) {
  my $m = $running->{batch_mean}[$k];
  $ema = 0.8 * $ema + 0.2 * $m;
  $sum += $m;
  push @ema_err, abs($running->{momentum_mean}[$k] - $ema);
  push @avg_err, abs($running->{none_mean}[$k] - $sum / ($k + 1));
}
check("bn_running: momentum 0.2 is running = 0.8 running + 0.2 batch", $max->(@ema_err) < 1e-5);
check("bn_running: momentum None is the average of the batch means", $max->(@avg_err) < 1e-5);

# The staged backward: the hand-derived gradient against autograd, the staged layer and central
# differences; 13 nodes (x, gamma, beta, the 8 stages, v + eps and gamma * x_hat).
my ($graph) = twin({cmd => 'backward_graph', x => [1, 2, 6], gamma => 2, beta => 0.5,
                    dy => [0.3, -0.1, 0.2]});
check("backward_graph: 13 nodes, y first and x's gradient sums to 0",
      @{$graph->{nodes}} == 13 && $graph->{nodes}[0]{name} eq 'y'
      && abs($graph->{autograd}{dx}[0] + $graph->{autograd}{dx}[1] + $graph->{autograd}{dx}[2]) < 1e-12);
check("backward_graph: hand-derived = autograd = staged (1e-12), = finite differences (1e-7)",
      $graph->{max_diff}{fused_vs_autograd} < 1e-12 && $graph->{max_diff}{fused_vs_staged} < 1e-12
      && $graph->{max_diff}{fused_vs_finite_difference} < 1e-7);

# Errors name what was expected and what came.
my @errors = twin({cmd => 'new_run', dataset => 'rings'}, {cmd => 'new_run', batch_size => 5000},
                  {cmd => 'new_run', norm => 'layer'}, {cmd => 'bn_state'},
                  {cmd => 'new_run', samples => 45}, {cmd => 'bn_state', layer => 2},
                  {cmd => 'bn_modes'});
my @messages = (
  "playground: expected a data set spirals, moons, blobs or circles, got 'rings'",
  'playground: expected a batch size from 2 to the 1200 training points, got 5000', undef,
  'playground: expected a BatchNorm1d layer below 0, got 0 (the network has 0)', undef,
  'playground: expected a BatchNorm1d layer below 2, got 2 (the network has 2)',
  'playground: no training step yet (take one step first)');
for my $i (0 .. $#messages) {
  next unless defined $messages[$i];
  check("error: $messages[$i]", ($errors[$i]{error} // '') eq $messages[$i]);
}

die "playground_panels: $failures check(s) failed\n" if $failures;
print "the panels' answers are what the library says\n";
