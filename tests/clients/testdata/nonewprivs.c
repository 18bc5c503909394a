/*
 * TestCritest's nonewprivs image: installed set-user-ID root, it prints the
 * effective uid it runs with (the user's when no_new_privs is set).
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("Effective uid: %d\n", (int)geteuid());
	return 0;
}
