// SPDX-License-Identifier: MIT
/*
 * Stand-ins for tlsbins.c, built twice: -DSSLFIX_LINKED, a program that
 * defines SSL_read and SSL_write itself (OpenSSL linked in), and without,
 * one that calls a shared libssl's (linked with -lssl: its symbols are
 * undefined in the program). Never run, only read.
 */
#ifdef SSLFIX_LINKED
int SSL_read(void *s, void *b, int n);
int SSL_write(void *s, const void *b, int n);

int SSL_read(void *s, void *b, int n)
{
	return n + (s != b);
}

int SSL_write(void *s, const void *b, int n)
{
	return n - (s != b);
}
#else
extern int SSL_read(void *s, void *b, int n);
extern int SSL_write(void *s, const void *b, int n);
#endif

int main(int argc, char **argv)
{
	return argc > 5 ? SSL_read(argv, argv[0], 1) + SSL_write(argv, argv[0], 1) : 0;
}
