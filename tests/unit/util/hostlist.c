/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "util/hostlist.h"

TestSuite(hostlist, .timeout = 10);

static char *write_file(const char *text)
{
    char *path = strdup("/tmp/shoal-hostfile-XXXXXX");
    int fd = mkstemp(path);

    cr_assert(fd >= 0);
    cr_assert(eq(sz, (size_t)write(fd, text, strlen(text)), strlen(text)));
    close(fd);
    return path;
}

Test(hostlist, host_arguments_with_and_without_slots)
{
    struct hostlist list = {0};
    shoal_error_t err = {{0}};

    cr_assert(eq(int, hostlist_add_arg(&list, "a:2,b,c:4", &err), 0), "%s",
              err.text);
    cr_assert(eq(int, hostlist_add_arg(&list, "b,10.213.0.5:3", &err), 0));
    cr_assert(eq(int, list.count, 4));
    cr_assert(eq(int, hostlist_find(&list, "a")->slots, 2));
    cr_assert(eq(int, hostlist_find(&list, "b")->slots, 2),
              "a host named twice adds its slots");
    cr_assert(eq(int, hostlist_find(&list, "c")->slots, 4));
    cr_assert(eq(int, hostlist_find(&list, "10.213.0.5")->slots, 3));
    cr_assert(hostlist_find(&list, "d") == NULL);
    hostlist_release(&list);
}

Test(hostlist, bad_host_argument_leaves_list_unchanged)
{
    static const char *bad[] = {"a:0", "a:x",  "a,,b",   "",
                                "a b", "a:-1", "a:2,b:", "bad/name"};
    struct hostlist list = {0};
    shoal_error_t err;

    cr_assert(eq(int, hostlist_add_arg(&list, "keep:1", &err), 0));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.text[0] = '\0';
        cr_assert(eq(int, hostlist_add_arg(&list, bad[i], &err), SHOAL_EUSAGE),
                  "'%s' accepted", bad[i]);
        cr_assert(err.text[0] != '\0');
        cr_assert(eq(int, list.count, 1), "'%s' changed the list", bad[i]);
        cr_assert(eq(int, list.entries[0].slots, 1));
    }
    hostlist_release(&list);
}

Test(hostlist, hostfile_lines_comments_and_defaults)
{
    char *path = write_file("# pool\n"
                            "node1 slots=4\n"
                            "\n"
                            "node2   # one per core\n"
                            "node3 max_slots=2\n"
                            "node4 slots=2 max_slots=3\n");
    struct hostlist list = {0};
    shoal_error_t err = {{0}};

    cr_assert(eq(int, hostlist_add_file(&list, path, &err), 0), "%s", err.text);
    cr_assert(eq(int, list.count, 4));
    cr_assert(eq(int, hostlist_find(&list, "node1")->slots, 4));
    cr_assert(eq(int, hostlist_find(&list, "node1")->max_slots, 0));
    cr_assert(eq(int, hostlist_find(&list, "node2")->slots, -1));
    cr_assert(eq(int, hostlist_find(&list, "node3")->slots, 2));
    cr_assert(eq(int, hostlist_find(&list, "node3")->max_slots, 2));
    cr_assert(eq(int, hostlist_find(&list, "node4")->slots, 2));
    cr_assert(eq(int, hostlist_find(&list, "node4")->max_slots, 3));
    hostlist_release(&list);
    unlink(path);
    free(path);
}

Test(hostlist, hostfile_slots_above_max_slots_name_the_line)
{
    char *path = write_file("node1 slots=4\nnode2 slots=8 max_slots=2\n");
    struct hostlist list = {0};
    shoal_error_t err = {{0}};
    char want[512];

    cr_assert(eq(int, hostlist_add_file(&list, path, &err), SHOAL_EUSAGE));
    snprintf(want, sizeof(want), "%s:2: slots=8 is more than max_slots=2",
             path);
    cr_assert(eq(str, err.text, want));
    cr_assert(eq(int, list.count, 0));
    hostlist_release(&list);
    unlink(path);
    free(path);
}

Test(hostlist, hostfile_errors_name_file_line_and_key)
{
    char *path = write_file("node1 slots=4\nnode2 colour=blue\n");
    struct hostlist list = {0};
    shoal_error_t err = {{0}};
    char want[512];

    cr_assert(eq(int, hostlist_add_file(&list, path, &err), SHOAL_EUSAGE));
    snprintf(want, sizeof(want), "%s:2: unknown key 'colour'", path);
    cr_assert(eq(str, err.text, want));
    cr_assert(eq(int, list.count, 0), "a failed file adds nothing");
    unlink(path);
    free(path);

    path = write_file("node1 slots=many\n");
    cr_assert(eq(int, hostlist_add_file(&list, path, &err), SHOAL_EUSAGE));
    cr_assert(strstr(err.text, ":1: key 'slots': 'many'") != NULL, "%s",
              err.text);
    unlink(path);
    free(path);

    path = write_file("# nothing\n\n");
    cr_assert(eq(int, hostlist_add_file(&list, path, &err), SHOAL_EUSAGE));
    cr_assert(strstr(err.text, "names no host") != NULL, "%s", err.text);
    unlink(path);
    free(path);

    cr_assert(lt(int, hostlist_add_file(&list, "/nonexistent/hf", &err), 0));
    cr_assert(strstr(err.text, "cannot open hostfile '/nonexistent/hf'")
              != NULL);
}

Test(hostlist, bytes_not_printable_are_escaped_in_errors)
{
    char *path = write_file("no\033de slots=2\nnode s\001=1\n");
    struct hostlist list = {0};
    shoal_error_t err = {{0}};
    char want[512];

    cr_assert(eq(int, hostlist_add_file(&list, path, &err), SHOAL_EUSAGE));
    snprintf(want, sizeof(want), "%s:1: invalid host name 'no\\x1bde'", path);
    cr_assert(eq(str, err.text, want));
    unlink(path);
    free(path);

    path = write_file("node s\001\\=1\n");
    cr_assert(eq(int, hostlist_add_file(&list, path, &err), SHOAL_EUSAGE));
    snprintf(want, sizeof(want), "%s:1: unknown key 's\\x01\\\\'", path);
    cr_assert(eq(str, err.text, want));
    unlink(path);
    free(path);

    path = write_file("node slots=\377\n");
    cr_assert(eq(int, hostlist_add_file(&list, path, &err), SHOAL_EUSAGE));
    cr_assert(strstr(err.text, ":1: key 'slots': '\\xff' is not") != NULL, "%s",
              err.text);
    unlink(path);
    free(path);

    cr_assert(eq(int, hostlist_add_arg(&list, "a\177b", &err), SHOAL_EUSAGE));
    cr_assert(eq(str, err.text, "invalid host name 'a\\x7fb'"));
}

Test(hostlist, local_names)
{
    cr_assert(hostlist_is_local("localhost", "node1.lab.org"));
    cr_assert(hostlist_is_local("127.0.0.1", "node1.lab.org"));
    cr_assert(hostlist_is_local("::1", "node1.lab.org"));
    cr_assert(hostlist_is_local("node1", "node1.lab.org"));
    cr_assert(hostlist_is_local("node1.lab.org", "node1.lab.org"));
    cr_assert(hostlist_is_local("node1.lab.org", "node1"));
    cr_assert(not(hostlist_is_local("node12", "node1")));
    cr_assert(not(hostlist_is_local("node2", "node1.lab.org")));
    cr_assert(not(hostlist_is_local("node", "node1")));
}
