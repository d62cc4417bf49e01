#!/usr/bin/perl
# Regenerates every figure the book quotes, or checks that the committed ones are still what the
# programs print. The figures live in the markdown itself, marked:
#
#   <!-- output: sweep -->            a marked block: the fenced block right below holds a command
#   ```                               (its first paragraph, run from the repository root) and,
#   build/release/examples/...        after one blank line, exactly what the command prints.
#                                     "sweep" names the block for the inline figures below.
#       norm  batch   test acc ...
#   ```
#
#   reaches 0.675<!-- sweep /BatchNorm +2 / --> test accuracy
#                                     an inline figure: the number right before the comment must
#                                     be one of the words of a line the block "sweep" printed
#                                     (of a line matching the /regex/, when one is given).
#
#   <!-- output: fold timings=/ +[\d.]+$/ timing-picture=fold_bn.svg -->
#                                     a block that also prints timings: what the regex matches on
#                                     each line is a timing, left out of the comparison (and not
#                                     rewritten when only timings moved); a timing picture is not
#                                     compared at all, only required to be written.
#   <!-- timings: ... -->             a block or page of timings alone (make bench): not re-run.
#   <!-- not checked: REASON picture=x.svg -->
#                                     a block the check cannot re-run (PyTorch, minutes under
#                                     mpirun), with the reason; its picture is exempt too.
#
# Every picture in docs/img must be written by a marked block's command (they write to docs/img).
# The commands run with OMP_NUM_THREADS=1: on a shared machine OpenMP's threads are slow to
# schedule, and the examples print the same figures on one thread (timings aside).
#
#   scripts/make_doc_figures.pl [--build DIR]            rewrite the marked blocks and docs/img
#   scripts/make_doc_figures.pl --check [--build DIR]    change nothing; exit 1 on any difference
#   ... [--root DIR] [FILE.md ...]                       another tree (tests), or only these files
#
# The commands run in a scratch directory in which build/release is the build, docs/img starts
# empty and the rest of the repository is linked in, so a check never touches the repository. A block's
# commands run in the order they appear; files in the order README.md, docs/*.md (sorted).
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Compare qw(compare);
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Getopt::Long qw(GetOptions);

my ($check, $build, $root) = (0, undef, abs_path(dirname($0) . '/..'));
GetOptions('check' => \$check, 'build=s' => \$build, 'root=s' => \$root)
  or die "usage: $0 [--check] [--build DIR] [--root DIR] [FILE.md ...]\n";
$root  = abs_path($root);
$build = abs_path($build // "$root/build/release");
die "make_doc_figures: no build at $build (run make build first)\n" unless -d "$build/examples";
my $all_files = !@ARGV;
my @files = @ARGV ? @ARGV : ((-e "$root/README.md" ? ('README.md') : ()),
                              map { s{^\Q$root\E/}{}r } sort glob("$root/docs/*.md"));

# The scratch directory: build/release -> the build, docs/img empty, everything else of the
# repository (scripts/, tests/fixtures/, ...) linked to the real thing.
my $scratch = tempdir('doc_figures.XXXXXX', TMPDIR => 1, CLEANUP => 1);
make_path("$scratch/build", "$scratch/docs/img");
symlink($build, "$scratch/build/release") or die "symlink: $!\n";
my $repository = abs_path(dirname($0) . '/..');
for my $entry (glob("$repository/*")) {
  my $name = $entry =~ s{^.*/}{}r;
  next if $name eq 'docs' || $name eq 'build';
  symlink($entry, "$scratch/$name") or die "symlink: $!\n";
}

my @problems;    # one line per difference (check) or per figure that needs a hand (update)
my %outputs;     # block name -> the lines its command printed
my %timing_pictures;  # pictures that plot timings: written, not compared
my %unchecked_pictures;  # pictures of blocks marked "not checked"
my @inline;      # [file, line number, number, block name, regex] for every inline figure

sub read_lines { my ($path) = @_; open(my $f, '<', $path) or die "$path: $!\n"; return <$f>; }
sub write_file { my ($path, @text) = @_; open(my $f, '>', $path) or die "$path: $!\n"; print $f @text; }

# Runs one block's command in the scratch directory; returns its output, trailing blanks cut.
sub run_command {
  my ($command, $where) = @_;
  write_file("$scratch/command.sh", "cd '$scratch'\n$command\n");
  my $out = `OMP_NUM_THREADS=1 bash -o pipefail '$scratch/command.sh' 2>'$scratch/stderr'`;
  if ($? != 0) {
    my $err = join('', read_lines("$scratch/stderr"));
    die "$where: the command failed (exit " . ($? >> 8) . "):\n  $command\n$err";
  }
  $out =~ s/[ \t]+$//mg;
  $out =~ s/\n+\z//;
  return $out;
}

for my $file (@files) {
  my @lines = read_lines("$root/$file");
  my @new;
  for (my $i = 0; $i < @lines; ++$i) {
    my $line = $lines[$i];
    push @new, $line;
    $unchecked_pictures{$1} = 1 while $line =~ /^<!-- not checked: .* picture=(\S+)/g;
    while ($line =~ /(\S+?)<!-- (\w+)(?: \/(.*?)\/)? -->/g) {
      my ($number, $name, $regex) = ($1, $2, $3);
      $number =~ s/^[^\d+-]+//;       # "(0.675" -> "0.675"
      push @inline, [$file, $i + 1, $number, $name, $regex];
    }
    next unless $line =~ /^<!-- output: (\w+)(.*) -->$/;
    my ($name, $options) = ($1, $2);
    my ($timings) = $options =~ m{ timings=/(.+?)/(?= |$)};
    $timing_pictures{$1} = 1 while $options =~ / timing-picture=(\S+)/g;
    die "$file:" . ($i + 2) . ": a fenced block must follow <!-- output: $name -->\n"
      unless ($lines[$i + 1] // '') =~ /^```/;
    die "$file:" . ($i + 1) . ": two blocks are named $name\n" if exists $outputs{$name};
    push @new, $lines[++$i];
    my @block;
    push @block, $lines[$i] while ++$i < @lines && $lines[$i] !~ /^```\s*$/;
    die "$file: the block $name is not closed\n" if $i >= @lines;
    my @command;
    push @command, shift @block while @block && $block[0] =~ /\S/;
    my $command = join('', @command);
    chomp $command;
    my $out = run_command($command, "$file: block $name");
    $outputs{$name} = [split /\n/, $out];
    my $text = join('', @command) . ($out eq '' ? '' : "\n$out\n");
    my $old = join('', @command, @block);
    my $mask = sub { my ($t) = @_; $t =~ s/$timings/<timing>/mg if defined $timings; $t };
    $text = $old if $mask->($old) eq $mask->($text);  # only timings moved: keep the committed
    if ($check && $old ne $text) {
      write_file("$scratch/committed", $mask->($old));  # timings masked: only what matters
      write_file("$scratch/printed", $mask->($text));
      push @problems, "$file: block $name: the command prints something else now"
        . " (< committed, > printed):\n" . `diff '$scratch/committed' '$scratch/printed'`;
    }
    push @new, $text, $lines[$i];
  }
  write_file("$root/$file", @new) unless $check;
}

# Inline figures: each must be one of the words a line of its block printed.
for my $figure (@inline) {
  my ($file, $at, $number, $name, $regex) = @$figure;
  my $lines = $outputs{$name};
  if (!$lines) {  # (when only some files are given, the block may be in another one)
    push @problems, "$file:$at: $number refers to a block $name that no marked block defines"
      if $all_files;
    next;
  }
  my $found = grep {
    (!defined $regex || /$regex/) && grep { $_ eq $number } split /[\s|,;:()\[\]=\/]+/
  } @$lines;
  push @problems, "$file:$at: $number is not what block $name prints"
    . (defined $regex ? " on the line matching /$regex/" : '') . " any more"
    unless $found;
}

# Pictures: every file the commands wrote to docs/img, against the committed one.
my @made = map { s{^.*/}{}r } glob("$scratch/docs/img/*");
for my $picture (@made) {
  my ($new, $old) = ("$scratch/docs/img/$picture", "$root/docs/img/$picture");
  if ($timing_pictures{$picture}) {
    copy($new, $old) or die "docs/img/$picture: $!\n" if !$check && !-e $old;
    push @problems, "docs/img/$picture: is missing; made by what the commands write now"
      if $check && !-e $old;
  } elsif ($check) {
    push @problems, "docs/img/$picture: " . (-e $old ? 'differs from' : 'is missing; made by')
      . " what the commands write now" if !-e $old || compare($new, $old) != 0;
  } else {
    copy($new, $old) or die "docs/img/$picture: $!\n";
  }
}
if ($all_files) {
  my %made = map { $_ => 1 } @made;
  push @problems, "docs/img/$_: no marked command writes it"
    for grep { !$made{$_} && !$unchecked_pictures{$_} } map { s{^.*/}{}r } glob("$root/docs/img/*");
}

my $summary = sprintf("%d marked blocks, %d inline figures, %d pictures", scalar(keys %outputs),
                      scalar(@inline), scalar(@made));
if (@problems) {
  print STDERR "make_doc_figures: $_\n" for @problems;
  die "make_doc_figures: " . scalar(@problems) . " figure(s) differ from what the programs print"
    . ($check ? "; scripts/make_doc_figures.pl rewrites the blocks and pictures, inline figures"
              . " are fixed by hand\n" : "; fix the inline figures by hand\n");
}
print "make_doc_figures: $summary " . ($check ? "match the programs\n" : "written\n");
