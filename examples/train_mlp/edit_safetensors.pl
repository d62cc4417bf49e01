#!/usr/bin/perl
# edit_safetensors.pl FILE NAME VALUE: sets, in the safetensors file FILE, the value of the
# scalar I64 or F64 tensor NAME, or else the metadata entry NAME (the header's "__metadata__"),
# as a hand edit or a damaged file would; the tests use it to check that train_mlp refuses a
# checkpoint whose saved values are out of line.
use strict;
use warnings;
use JSON::PP;

my ($file, $name, $value) = @ARGV;
die "usage: edit_safetensors.pl FILE NAME VALUE\n" unless defined $value;
open(my $in, '<:raw', $file) or die "$file: $!\n";
my $bytes = do { local $/; <$in> };
close $in;
my $size = unpack('Q<', substr($bytes, 0, 8));
my $json = JSON::PP->new->canonical;
my $header = $json->decode(substr($bytes, 8, $size));
my $data = substr($bytes, 8 + $size);
if (my $tensor = $header->{$name}) {
  my %packs = (I64 => 'q<', F64 => 'd<');
  my $pack = $packs{$tensor->{dtype}} or die "$name: expected an I64 or F64 scalar\n";
  my ($begin, $end) = @{$tensor->{data_offsets}};
  die "$name: expected a scalar\n" unless $end - $begin == 8;
  substr($data, $begin, 8) = pack($pack, $value);
} else {
  $header->{__metadata__}{$name} = $value;
}
my $text = $json->encode($header);
$text .= ' ' x ((8 - length($text) % 8) % 8);  # the data section stays 8-byte aligned
open(my $out, '>:raw', $file) or die "$file: $!\n";
print $out pack('Q<', length $text), $text, $data;
close $out or die "$file: $!\n";
