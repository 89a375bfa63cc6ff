# SPDX-License-Identifier: GPL-2.0
#
# The guest's preload step: perl through libmagalloc-preload.so and
# without it must print the same.  No module (the guest has perl's binary
# and its libraries only): a hash of 20k keys, sorting, splitting,
# deleting, a string of megabytes built and rewritten by a regex, arrays
# of arrays, checksums.  Deterministic.
my %h;
my $n = 20000;
for my $i (1 .. $n) {
	my $k = sprintf("key%07d", ($i * 7919) % 1000003);
	$h{$k} = join(",", $i, $i * $i, "x" x ($i % 50));
}
print "keys ", scalar(keys %h), "\n";
my @sorted = sort keys %h;
print "first $sorted[0] last $sorted[-1]\n";
my ($sum, $len) = (0, 0);
for my $k (@sorted) {
	my @f = split /,/, $h{$k};
	$sum += $f[0];
	$len += length($f[2] // "");
}
print "sum $sum len $len\n";
my $d = 0;
for my $k (@sorted) {
	if ($k =~ /[0369]$/) {
		delete $h{$k};
		$d++;
	}
}
print "deleted $d left ", scalar(keys %h), "\n";
my $s = join("", map { "$_:$h{$_};" } sort keys %h);
print "string ", length($s), "\n";
(my $t = $s) =~ s/(\d+),(\d+)/$2-$1/g;
print "rewritten ", length($t), " sum ", unpack("%32C*", $t), "\n";
my @m = map { my $r = $_; [ map { $_ * $r } 1 .. 20 ] } 1 .. 4000;
my $tot = 0;
$tot += $_->[19] for @m;
print "matrix $tot\n";
my $c = 0;
for my $k (sort keys %h) {
	$c = ($c * 31 + unpack("%32C*", $h{$k})) % 4294967291;
}
print "checksum $c\n";
