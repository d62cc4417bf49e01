#!/usr/bin/perl
# ctest playground_twin_matches_train_mlp: the playground's driver trains exactly as train_mlp
# does, so the page (the same driver in WebAssembly) can be compared with train_mlp.
#
#   test_twin.pl TWIN TRAIN_MLP WORK_DIR
#
# 1. 45 spiral points leave 36 for training: one batch of 32 per epoch, so each row of
#    train_mlp's metrics.csv is one step's loss. The driver's first 10 losses must be those 10
#    rows (metrics.csv prints 6 decimals).
# 2. The default run (1500 points, 37 steps per epoch), 2 epochs: each epoch's mean loss and the
#    test accuracy after it must be train_mlp's.
use strict;
use warnings;
use JSON::PP qw(decode_json encode_json);

my ($twin, $train_mlp, $work) = @ARGV;
die "usage: $0 TWIN TRAIN_MLP WORK_DIR\n" unless defined $work;
system('rm', '-rf', $work) == 0 && system('mkdir', '-p', $work) == 0 or die "$work: $!\n";
my $failures = 0;

sub twin {
  my @answers = map { decode_json($_) } split /\n/, `'$twin' @{[map { "'" . encode_json($_) . "'" } @_]}`;
  die "playground_native failed (exit " . ($? >> 8) . "): " . encode_json(\@answers) . "\n" if $?;
  return @answers;
}

sub metrics {  # rows of [epoch, train_loss, train_acc, test_loss, test_acc, lr]
  my ($dir, @flags) = @_;
  system($train_mlp, @flags, '--schedule', 'none', '--brief', '--out', $dir) == 0
    or die "train_mlp @flags failed\n";
  open(my $f, '<', "$dir/metrics.csv") or die "$dir/metrics.csv: $!\n";
  my @rows = map { chomp; [split /,/] } grep { !/^epoch/ } <$f>;
  return @rows;
}

sub expect_close {
  my ($what, $got, $want, $tolerance) = @_;
  my $ok = abs($got - $want) <= $tolerance;
  printf "%-48s driver %.8f  train_mlp %.6f  %s\n", $what, $got, $want, $ok ? 'ok' : 'DIFFERENT';
  ++$failures unless $ok;
}

# 1. One step per epoch: the losses step by step.
my @small = metrics("$work/small", '--samples', '45', '--epochs', '10');
my (undef, $steps) = twin({cmd => 'new_run', samples => 45}, {cmd => 'step', steps => 10});
for my $k (0 .. 9) {
  expect_close("45 points, step " . ($k + 1) . " loss", $steps->{losses}[$k], $small[$k][1], 6e-7);
}

# 2. The default run: per-epoch mean loss and test accuracy.
my @full = metrics("$work/full", '--epochs', '2');
my (undef, $e1, $a1, $e2, $a2) = twin({cmd => 'new_run'}, {cmd => 'step', steps => 37},
                                      {cmd => 'evaluate'}, {cmd => 'step', steps => 37},
                                      {cmd => 'evaluate'});
my $mean = sub { my $s = 0; $s += $_ for @{$_[0]}; $s / @{$_[0]} };
expect_close('default run, epoch 1 mean loss', $mean->($e1->{losses}), $full[0][1], 6e-7);
expect_close('default run, epoch 1 test accuracy', $a1->{test_acc}, $full[0][4], 6e-7);
expect_close('default run, epoch 2 mean loss', $mean->($e2->{losses}), $full[1][1], 6e-7);
expect_close('default run, epoch 2 test accuracy', $a2->{test_acc}, $full[1][4], 6e-7);

die "playground_twin_matches_train_mlp: $failures difference(s)\n" if $failures;
print "the driver trains as train_mlp does\n";
