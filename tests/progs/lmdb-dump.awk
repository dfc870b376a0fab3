# lmdb-dump.awk - a dump in mdb_dump's own format (so that mdb_dump of the
# database mdb_load makes of it gives it back byte for byte): n records
# with 8-digit keys and values of vlen digits, a map of mapsize bytes.
#
#   awk -v n=N -v vlen=L -v mapsize=M -f tests/progs/lmdb-dump.awk
BEGIN {
	print "VERSION=3"; print "format=bytevalue"; print "type=btree"
	print "mapsize=" mapsize; print "maxreaders=126"; print "HEADER=END"
	for (i = 0; i < n; i++) {
		k = sprintf("%08d", i); h = ""
		for (j = 1; j <= 8; j++) h = h "3" substr(k, j, 1)
		print " 6b" h
		v = ""
		for (j = 0; j < vlen; j++) v = v "3" ((i * 7919 + j * 31) % 10)
		print " " v
	}
	print "DATA=END"
}
