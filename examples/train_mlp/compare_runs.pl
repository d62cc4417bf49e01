#!/usr/bin/perl
# Compares two train_mlp runs number by number, within a relative tolerance:
#   compare_runs.pl TOL STEPS_A STEPS_B MODEL_A MODEL_B
# STEPS_*: --log-steps files (epoch,step,loss per line); the same steps, each loss within TOL.
# MODEL_*: model.safetensors; the same tensors (names, shapes), each float32 value a, b with
# |a - b| <= TOL * max(1, |a|). Prints the largest differences; exit 1 if any is over TOL.
use strict;
use warnings;
use JSON::PP;

my ($tol, $steps_a, $steps_b, $model_a, $model_b) = @ARGV;
die "usage: compare_runs.pl TOL STEPS_A STEPS_B MODEL_A MODEL_B\n" unless defined $model_b;

sub lines_of {
  my ($path) = @_;
  open(my $f, '<', $path) or die "compare_runs: cannot read $path: $!\n";
  my @rows = map { chomp; [split /,/] } grep { /\S/ } <$f>;
  return @rows;
}

my @a = lines_of($steps_a);
my @b = lines_of($steps_b);
die "compare_runs: $steps_a has " . scalar(@a) . " steps, $steps_b " . scalar(@b) . "\n"
  unless @a == @b && @a > 0;
my $worst_loss = 0;
for my $i (0 .. $#a) {
  my ($ea, $sa, $la) = @{$a[$i]};
  my ($eb, $sb, $lb) = @{$b[$i]};
  die "compare_runs: line " . ($i + 1) . ": epoch/step $ea/$sa against $eb/$sb\n"
    unless $ea == $eb && $sa == $sb;
  my $d = abs($la - $lb) / (abs($la) > 1 ? abs($la) : 1);
  $worst_loss = $d if $d > $worst_loss;
}

sub tensors_of {
  my ($path) = @_;
  open(my $f, '<:raw', $path) or die "compare_runs: cannot read $path: $!\n";
  local $/;
  my $bytes = <$f>;
  my $n = unpack('Q<', substr($bytes, 0, 8));
  my $header = decode_json(substr($bytes, 8, $n));
  my %t;
  for my $name (keys %$header) {
    next if $name eq '__metadata__';
    my $h = $header->{$name};
    next unless $h->{dtype} eq 'F32';
    my ($begin, $end) = @{$h->{data_offsets}};
    $t{$name} = [unpack('f<*', substr($bytes, 8 + $n + $begin, $end - $begin))];
  }
  return \%t;
}

my $ta = tensors_of($model_a);
my $tb = tensors_of($model_b);
my $names_a = join(',', sort keys %$ta);
die "compare_runs: the models hold different tensors: $names_a against " .
  join(',', sort keys %$tb) . "\n" unless $names_a eq join(',', sort keys %$tb);
my ($worst_value, $where) = (0, '');
for my $name (sort keys %$ta) {
  my ($va, $vb) = ($ta->{$name}, $tb->{$name});
  die "compare_runs: $name has " . scalar(@$va) . " values against " . scalar(@$vb) . "\n"
    unless @$va == @$vb;
  for my $i (0 .. $#$va) {
    my $d = abs($va->[$i] - $vb->[$i]) / (abs($va->[$i]) > 1 ? abs($va->[$i]) : 1);
    ($worst_value, $where) = ($d, "$name\[$i\]") if $d > $worst_value;
  }
}
printf "compare_runs: %d steps, largest loss difference %.3g; %d tensors, largest value " .
  "difference %.3g%s (tolerance %g)\n", scalar(@a), $worst_loss, scalar(keys %$ta),
  $worst_value, ($where ? " at $where" : ''), $tol;
exit($worst_loss <= $tol && $worst_value <= $tol ? 0 : 1);
