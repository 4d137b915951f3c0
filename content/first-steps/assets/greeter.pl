#!/usr/bin/perl
# A tiny HTTP responder for the first-steps lesson: answers every request with a
# greeting and logs "<peer-ip> <request line>" so a
# check on node01 can prove which node called. Only perl-base is needed, which every
# Debian image has.
use strict;
use warnings;
use IO::Socket::INET;

my ($port, $log) = @ARGV;
my $server = IO::Socket::INET->new(
    LocalPort => $port, Listen => 16, ReuseAddr => 1, Proto => 'tcp'
) or die "listen on $port: $!";
# Tell the setup script that the port is open.
open(my $ready, '>', $log =~ s/\.log$/.ready/r) or die "ready file: $!";
print $ready "ready\n";
close $ready;
$| = 1;
while (my $client = $server->accept) {
    my $peer = $client->peerhost;
    my $request = <$client> // '';
    $request =~ s/\r?\n$//;
    while (my $line = <$client>) { last if $line =~ /^\r?\n$/; }
    open(my $fh, '>>', $log) or die; print $fh "$peer $request\n"; close $fh;
    my $body = "hello, this is node01 (you came from $peer)\n";
    print $client "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
        . length($body) . "\r\n\r\n$body";
    close $client;
}
