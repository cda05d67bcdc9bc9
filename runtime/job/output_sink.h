/* SPDX-License-Identifier: MIT */
/* output_sink.h - where one stream of one rank's output goes, as the user
 * asked for it: straight through, each line tagged "[rank] " (--tag-output),
 * or into DIR/1/rank.N/stdout|stderr (--output-filename).
 *
 * Tagged output is cut at newlines and each line written with one writev,
 * so lines of different ranks never mix; a partial last line waits for the
 * rest (a line over 64 KiB is emitted in pieces), and is ended with a
 * newline when the stream closes. Both the embedded runtime and the
 * coordinator of a job over several nodes write output through this. */
#ifndef SHOAL_RUNTIME_JOB_OUTPUT_SINK_H
#define SHOAL_RUNTIME_JOB_OUTPUT_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include <shoal/error.h>

struct output_sink {
    int rank;
    int dest_fd;
    bool tag;
    bool own_dest; /* dest_fd is a file we opened */
    bool open;
    bool broken;   /* the destination is a pipe nobody reads any more */
    char *partial; /* tagged output: an incomplete last line */
    size_t partial_len;
    bool line_cut; /* a long line was cut: its newline is written */
};

/* Open a sink for rank's stream named "stdout" or "stderr": into a file
 * under output_dir when it is not NULL (directories made as needed), else
 * to dest_fd (borrowed), tagged when tag is set. Returns 0, or a negative
 * errno with error filled naming the file. */
int output_sink_open(struct output_sink *sink,
                     int rank,
                     const char *name,
                     int dest_fd,
                     bool tag,
                     const char *output_dir,
                     shoal_error_t *error);

/* Write len bytes. Once the destination is a pipe whose reader has gone
 * (`shoal run ... | head`), sink->broken is set and bytes are dropped. */
void output_sink_write(struct output_sink *sink, const char *buf, size_t len);

/* End the stream: finish a partial tagged line, close an owned file.
 * Accepts a sink that is not open. */
void output_sink_close(struct output_sink *sink);

#endif
