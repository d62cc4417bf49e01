#!/usr/bin/env perl
# The code map of docs/batchnorm.md points at lines: "`NAME`, `FILE:LINE`". This checks that line
# LINE of FILE still holds NAME (as a whole word), for every such pair in docs/*.md, and with
# --fix moves each pair that no longer does to NAME's first line in FILE that is code (not a
# comment; a NAME that is itself a comment, "`// step 1`", is looked for in comments).
#   perl scripts/check_code_map.pl [--fix]        (from the repository's root; ctest doc_code_map)
use strict;
use warnings;

my $fix = @ARGV && $ARGV[0] eq '--fix';
my ($pairs, $stale) = (0, 0);

sub lines_of {
  my ($path) = @_;
  open(my $f, '<', $path) or return undef;
  my @lines = <$f>;
  return \@lines;
}

# NAME as a pattern: a whole word where it starts or ends with a word character.
sub pattern {
  my ($name) = @_;
  my $p = quotemeta($name);
  $p = '\b' . $p if $name =~ /^\w/;
  $p .= '\b' if $name =~ /\w$/;
  return $p;
}

# Where NAME is meant in FILE (1-based line, 0 if nowhere): a "// ..." NAME on its first comment
# line; any other NAME on its definition (an unindented line, not an explicit instantiation,
# whose statement opens a "{" before any ";"), else on its first line of code.
sub where {
  my ($lines, $name) = @_;
  my $p = pattern($name);
  if ($name =~ m{^//}) {
    for my $i (0 .. $#$lines) { return $i + 1 if $lines->[$i] =~ /$p/ }
    return 0;
  }
  my $first = 0;
  for my $i (0 .. $#$lines) {
    (my $code = $lines->[$i]) =~ s{//.*}{};
    next unless $code =~ /$p/;
    $first ||= $i + 1;
    next if $code =~ /^\s/ || $code =~ /^template\s+[^<\s]/;
    my $statement = join('', @$lines[$i .. ($i + 10 < $#$lines ? $i + 10 : $#$lines)]);
    return $i + 1 if $statement =~ /^[^;{]*\{/;
  }
  return $first;
}

for my $doc (glob 'docs/*.md') {
  open(my $f, '<', $doc) or die "$doc: $!";
  my $text = do { local $/; <$f> };
  close $f;
  my $changed = 0;
  $text =~ s{`([^`]+)`, `([\w/.]+\.(?:cpp|hpp)):(\d+)`}{
    my ($name, $path, $line) = ($1, $2, $3);
    ++$pairs;
    my $lines = lines_of($path);
    my $out = "`$name`, `$path:$line`";
    if (!$lines) {
      print "check_code_map: $doc: $path does not exist\n";
      ++$stale;
    } else {
      my $p = pattern($name);
      my $held = $line <= @$lines && $lines->[$line - 1] =~ /$p/;
      if (!$held) {
        my $now = where($lines, $name);
        if ($fix && $now) {
          $out = "`$name`, `$path:$now`";
          ++$changed;
        } else {
          print "check_code_map: $doc: `$name` is not on $path:$line",
              ($now ? " (it is on line $now)" : " (nor anywhere in the file)"), "\n";
          ++$stale;
        }
      }
    }
    $out;
  }ge;
  # A FILE:LINE without a NAME right before it cannot be checked.
  while ($text =~ m{(.{0,40})`([\w/.]+\.(?:cpp|hpp)):(\d+)`}g) {
    next if $1 =~ /`[^`]+`, $/;
    print "check_code_map: $doc: `$2:$3` has no \"`NAME`, \" before it to check it by\n";
    ++$stale;
  }
  if ($changed) {
    open(my $o, '>', $doc) or die "$doc: $!";
    print $o $text;
    close $o;
    print "check_code_map: $doc: $changed line number(s) moved\n";
  }
}
die "check_code_map: no `NAME`, `FILE:LINE` pairs found: run from the repository's root\n"
    unless $pairs;
if ($stale) {
  print "check_code_map: $stale of $pairs code map entries are stale; "
      . "perl scripts/check_code_map.pl --fix moves them\n";
  exit 1;
}
print "check_code_map: $pairs code map entries point at their lines\n";
