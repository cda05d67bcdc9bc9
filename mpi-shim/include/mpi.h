/* SPDX-License-Identifier: MIT */
/* mpi.h - the MPI interface of shoal's MPI library (libmpi over libfabric).
 *
 * Handles are integers, as in MPICH: the high byte names the object kind so
 * that a handle of the wrong kind is reported with the proper error class
 * instead of being dereferenced. Every MPI_ function is also available as
 * PMPI_ for profiling tools. Thread levels up to MPI_THREAD_SERIALIZED. */
#ifndef SHOAL_MPI_H
#define SHOAL_MPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHOAL_MPI_API __attribute__((visibility("default")))

#define MPI_VERSION 3
#define MPI_SUBVERSION 1

typedef int MPI_Comm;
typedef int MPI_Datatype;
typedef int MPI_Group;
typedef int MPI_Op;
typedef int MPI_Errhandler;
typedef int MPI_Request;
typedef int MPI_Message;
typedef int MPI_Info;
typedef int MPI_Win;
typedef intptr_t MPI_Aint;
typedef long long MPI_Count;
typedef long long MPI_Offset;

typedef struct MPI_Status {
    int MPI_SOURCE;
    int MPI_TAG;
    int MPI_ERROR;
    int shoal_cancelled;   /* private */
    MPI_Count shoal_count; /* private: bytes received */
} MPI_Status;

#define MPI_STATUS_IGNORE ((MPI_Status *)1)
#define MPI_STATUSES_IGNORE ((MPI_Status *)1)
#define MPI_IN_PLACE ((void *)-1)
#define MPI_BOTTOM ((void *)0)
#define MPI_UNWEIGHTED ((int *)2)
#define MPI_WEIGHTS_EMPTY ((int *)3)
#define MPI_ERRCODES_IGNORE ((int *)0)

/* Handle kinds live in bits 24..29; bit 30 marks a valid (non-null) one. */
#define MPI_COMM_NULL ((MPI_Comm)0x04000000)
#define MPI_COMM_WORLD ((MPI_Comm)0x44000000)
#define MPI_COMM_SELF ((MPI_Comm)0x44000001)
#define MPI_GROUP_NULL ((MPI_Group)0x08000000)
#define MPI_GROUP_EMPTY ((MPI_Group)0x48000000)
#define MPI_DATATYPE_NULL ((MPI_Datatype)0x0c000000)
#define MPI_OP_NULL ((MPI_Op)0x18000000)
#define MPI_ERRHANDLER_NULL ((MPI_Errhandler)0x14000000)
#define MPI_ERRORS_ARE_FATAL ((MPI_Errhandler)0x54000000)
#define MPI_ERRORS_RETURN ((MPI_Errhandler)0x54000001)
#define MPI_REQUEST_NULL ((MPI_Request)0x2c000000)
#define MPI_MESSAGE_NULL ((MPI_Message)0x30000000)
#define MPI_MESSAGE_NO_PROC ((MPI_Message)0x70000000)
#define MPI_INFO_NULL ((MPI_Info)0x1c000000)
#define MPI_WIN_NULL ((MPI_Win)0x20000000)

/* Predefined datatypes: 0x4c000000 | index into the library's table. */
#define SHOAL_MPI_DT(i) ((MPI_Datatype)(0x4c000000 | (i)))
#define MPI_CHAR SHOAL_MPI_DT(1)
#define MPI_SIGNED_CHAR SHOAL_MPI_DT(2)
#define MPI_UNSIGNED_CHAR SHOAL_MPI_DT(3)
#define MPI_BYTE SHOAL_MPI_DT(4)
#define MPI_WCHAR SHOAL_MPI_DT(5)
#define MPI_SHORT SHOAL_MPI_DT(6)
#define MPI_UNSIGNED_SHORT SHOAL_MPI_DT(7)
#define MPI_INT SHOAL_MPI_DT(8)
#define MPI_UNSIGNED SHOAL_MPI_DT(9)
#define MPI_LONG SHOAL_MPI_DT(10)
#define MPI_UNSIGNED_LONG SHOAL_MPI_DT(11)
#define MPI_LONG_LONG_INT SHOAL_MPI_DT(12)
#define MPI_LONG_LONG MPI_LONG_LONG_INT
#define MPI_UNSIGNED_LONG_LONG SHOAL_MPI_DT(13)
#define MPI_FLOAT SHOAL_MPI_DT(14)
#define MPI_DOUBLE SHOAL_MPI_DT(15)
#define MPI_LONG_DOUBLE SHOAL_MPI_DT(16)
#define MPI_INT8_T SHOAL_MPI_DT(17)
#define MPI_INT16_T SHOAL_MPI_DT(18)
#define MPI_INT32_T SHOAL_MPI_DT(19)
#define MPI_INT64_T SHOAL_MPI_DT(20)
#define MPI_UINT8_T SHOAL_MPI_DT(21)
#define MPI_UINT16_T SHOAL_MPI_DT(22)
#define MPI_UINT32_T SHOAL_MPI_DT(23)
#define MPI_UINT64_T SHOAL_MPI_DT(24)
#define MPI_C_BOOL SHOAL_MPI_DT(25)
#define MPI_C_FLOAT_COMPLEX SHOAL_MPI_DT(26)
#define MPI_C_COMPLEX MPI_C_FLOAT_COMPLEX
#define MPI_C_DOUBLE_COMPLEX SHOAL_MPI_DT(27)
#define MPI_C_LONG_DOUBLE_COMPLEX SHOAL_MPI_DT(28)
#define MPI_AINT SHOAL_MPI_DT(29)
#define MPI_OFFSET SHOAL_MPI_DT(30)
#define MPI_COUNT SHOAL_MPI_DT(31)
#define MPI_PACKED SHOAL_MPI_DT(32)
#define MPI_FLOAT_INT SHOAL_MPI_DT(33)
#define MPI_DOUBLE_INT SHOAL_MPI_DT(34)
#define MPI_LONG_INT SHOAL_MPI_DT(35)
#define MPI_2INT SHOAL_MPI_DT(36)
#define MPI_SHORT_INT SHOAL_MPI_DT(37)
#define MPI_LONG_DOUBLE_INT SHOAL_MPI_DT(38)

#define MPI_MAX ((MPI_Op)0x58000001)
#define MPI_MIN ((MPI_Op)0x58000002)
#define MPI_SUM ((MPI_Op)0x58000003)
#define MPI_PROD ((MPI_Op)0x58000004)
#define MPI_LAND ((MPI_Op)0x58000005)
#define MPI_BAND ((MPI_Op)0x58000006)
#define MPI_LOR ((MPI_Op)0x58000007)
#define MPI_BOR ((MPI_Op)0x58000008)
#define MPI_LXOR ((MPI_Op)0x58000009)
#define MPI_BXOR ((MPI_Op)0x5800000a)
#define MPI_MINLOC ((MPI_Op)0x5800000b)
#define MPI_MAXLOC ((MPI_Op)0x5800000c)
#define MPI_REPLACE ((MPI_Op)0x5800000d)
#define MPI_NO_OP ((MPI_Op)0x5800000e)

enum {
    MPI_SUCCESS = 0,
    MPI_ERR_BUFFER,
    MPI_ERR_COUNT,
    MPI_ERR_TYPE,
    MPI_ERR_TAG,
    MPI_ERR_COMM,
    MPI_ERR_RANK,
    MPI_ERR_REQUEST,
    MPI_ERR_ROOT,
    MPI_ERR_GROUP,
    MPI_ERR_OP,
    MPI_ERR_TOPOLOGY,
    MPI_ERR_DIMS,
    MPI_ERR_ARG,
    MPI_ERR_UNKNOWN,
    MPI_ERR_TRUNCATE,
    MPI_ERR_OTHER,
    MPI_ERR_INTERN,
    MPI_ERR_IN_STATUS,
    MPI_ERR_PENDING,
    MPI_ERR_KEYVAL,
    MPI_ERR_NO_MEM,
    MPI_ERR_INFO,
    MPI_ERR_UNSUPPORTED_OPERATION,
    MPI_ERR_WIN,
    MPI_ERR_BASE,
    MPI_ERR_SIZE,
    MPI_ERR_DISP,
    MPI_ERR_LOCKTYPE,
    MPI_ERR_ASSERT,
    MPI_ERR_RMA_CONFLICT,
    MPI_ERR_RMA_SYNC,
    MPI_ERR_RMA_RANGE,
    MPI_ERR_RMA_ATTACH,
    MPI_ERR_RMA_SHARED,
    MPI_ERR_RMA_FLAVOR,
    MPI_ERR_INFO_KEY,
    MPI_ERR_INFO_VALUE,
    MPI_ERR_INFO_NOKEY,
    MPI_ERR_LASTCODE
};

enum {
    MPI_THREAD_SINGLE = 0,
    MPI_THREAD_FUNNELED,
    MPI_THREAD_SERIALIZED,
    MPI_THREAD_MULTIPLE
};

enum { MPI_IDENT = 0, MPI_CONGRUENT, MPI_SIMILAR, MPI_UNEQUAL };
enum { MPI_GRAPH = 1, MPI_CART, MPI_DIST_GRAPH };
enum { MPI_COMM_TYPE_SHARED = 1 };
enum { MPI_TYPECLASS_REAL = 1, MPI_TYPECLASS_INTEGER, MPI_TYPECLASS_COMPLEX };
enum { MPI_ORDER_C = 56, MPI_ORDER_FORTRAN = 57 };
enum {
    MPI_DISTRIBUTE_BLOCK = 121,
    MPI_DISTRIBUTE_CYCLIC = 122,
    MPI_DISTRIBUTE_NONE = 123,
    MPI_DISTRIBUTE_DFLT_DARG = -49767
};
enum {
    MPI_COMBINER_NAMED = 1,
    MPI_COMBINER_DUP,
    MPI_COMBINER_CONTIGUOUS,
    MPI_COMBINER_VECTOR,
    MPI_COMBINER_HVECTOR,
    MPI_COMBINER_INDEXED,
    MPI_COMBINER_HINDEXED,
    MPI_COMBINER_INDEXED_BLOCK,
    MPI_COMBINER_HINDEXED_BLOCK,
    MPI_COMBINER_STRUCT,
    MPI_COMBINER_SUBARRAY,
    MPI_COMBINER_DARRAY,
    MPI_COMBINER_RESIZED
};

enum {
    MPI_TAG_UB = 0x64400001,
    MPI_HOST,
    MPI_IO,
    MPI_WTIME_IS_GLOBAL,
    MPI_APPNUM,
    MPI_UNIVERSE_SIZE,
    MPI_LASTUSEDCODE
};

/* One-sided communication: predefined window attributes, flavors and
 * memory models, assertions and lock types. */
enum {
    MPI_WIN_BASE = 0x66000001,
    MPI_WIN_SIZE = 0x66000003,
    MPI_WIN_DISP_UNIT = 0x66000005,
    MPI_WIN_CREATE_FLAVOR = 0x66000007,
    MPI_WIN_MODEL = 0x66000009,
};
enum {
    MPI_WIN_FLAVOR_CREATE = 1,
    MPI_WIN_FLAVOR_ALLOCATE,
    MPI_WIN_FLAVOR_DYNAMIC,
    MPI_WIN_FLAVOR_SHARED
};
enum { MPI_WIN_SEPARATE = 1, MPI_WIN_UNIFIED };
enum {
    MPI_MODE_NOCHECK = 1024,
    MPI_MODE_NOSTORE = 2048,
    MPI_MODE_NOPUT = 4096,
    MPI_MODE_NOPRECEDE = 8192,
    MPI_MODE_NOSUCCEED = 16384
};
enum { MPI_LOCK_EXCLUSIVE = 234, MPI_LOCK_SHARED = 235 };

#define MPI_ANY_SOURCE (-2)
#define MPI_PROC_NULL (-1)
#define MPI_ROOT (-3)
#define MPI_ANY_TAG (-1)
#define MPI_UNDEFINED (-32766)
#define MPI_KEYVAL_INVALID 0x24000000
#define MPI_BSEND_OVERHEAD 96
#define MPI_MAX_PROCESSOR_NAME 256
#define MPI_MAX_ERROR_STRING 512
#define MPI_MAX_OBJECT_NAME 128
#define MPI_MAX_INFO_KEY 255
#define MPI_MAX_INFO_VAL 1024
#define MPI_MAX_LIBRARY_VERSION_STRING 256

typedef void(MPI_User_function)(void *invec,
                                void *inoutvec,
                                int *len,
                                MPI_Datatype *datatype);
typedef void(MPI_Comm_errhandler_function)(MPI_Comm *comm, int *code, ...);
typedef MPI_Comm_errhandler_function MPI_Comm_errhandler_fn;
typedef void(MPI_Win_errhandler_function)(MPI_Win *win, int *code, ...);
typedef MPI_Win_errhandler_function MPI_Win_errhandler_fn;

/* Attribute callbacks (MPI_Comm_create_keyval, MPI_Type_create_keyval,
 * MPI_Keyval_create). A NULL copy function copies nothing, a NULL delete
 * function does nothing. */
typedef int(MPI_Comm_copy_attr_function)(MPI_Comm oldcomm,
                                         int comm_keyval,
                                         void *extra_state,
                                         void *attribute_val_in,
                                         void *attribute_val_out,
                                         int *flag);
typedef int(MPI_Comm_delete_attr_function)(MPI_Comm comm,
                                           int comm_keyval,
                                           void *attribute_val,
                                           void *extra_state);
typedef int(MPI_Type_copy_attr_function)(MPI_Datatype oldtype,
                                         int type_keyval,
                                         void *extra_state,
                                         void *attribute_val_in,
                                         void *attribute_val_out,
                                         int *flag);
typedef int(MPI_Type_delete_attr_function)(MPI_Datatype datatype,
                                           int type_keyval,
                                           void *attribute_val,
                                           void *extra_state);
typedef MPI_Comm_copy_attr_function MPI_Copy_function;
typedef MPI_Comm_delete_attr_function MPI_Delete_function;
/* The predefined copy function that copies the value (MPI_DUP_FN). */
SHOAL_MPI_API int shoal_mpi_dup_fn(int handle,
                                   int keyval,
                                   void *extra_state,
                                   void *attribute_val_in,
                                   void *attribute_val_out,
                                   int *flag);
#define MPI_NULL_COPY_FN ((MPI_Copy_function *)0)
#define MPI_NULL_DELETE_FN ((MPI_Delete_function *)0)
#define MPI_DUP_FN ((MPI_Copy_function *)shoal_mpi_dup_fn)
#define MPI_COMM_NULL_COPY_FN ((MPI_Comm_copy_attr_function *)0)
#define MPI_COMM_NULL_DELETE_FN ((MPI_Comm_delete_attr_function *)0)
#define MPI_COMM_DUP_FN ((MPI_Comm_copy_attr_function *)shoal_mpi_dup_fn)
#define MPI_TYPE_NULL_COPY_FN ((MPI_Type_copy_attr_function *)0)
#define MPI_TYPE_NULL_DELETE_FN ((MPI_Type_delete_attr_function *)0)
#define MPI_TYPE_DUP_FN ((MPI_Type_copy_attr_function *)shoal_mpi_dup_fn)
typedef int(MPI_Win_copy_attr_function)(MPI_Win oldwin,
                                        int win_keyval,
                                        void *extra_state,
                                        void *attribute_val_in,
                                        void *attribute_val_out,
                                        int *flag);
typedef int(MPI_Win_delete_attr_function)(MPI_Win win,
                                          int win_keyval,
                                          void *attribute_val,
                                          void *extra_state);
#define MPI_WIN_NULL_COPY_FN ((MPI_Win_copy_attr_function *)0)
#define MPI_WIN_NULL_DELETE_FN ((MPI_Win_delete_attr_function *)0)
#define MPI_WIN_DUP_FN ((MPI_Win_copy_attr_function *)shoal_mpi_dup_fn)

typedef int(MPI_Grequest_query_function)(void *extra_state, MPI_Status *status);
typedef int(MPI_Grequest_free_function)(void *extra_state);
typedef int(MPI_Grequest_cancel_function)(void *extra_state, int complete);

/* Declares MPI_name and PMPI_name with one prototype. */
#define SHOAL_MPI_DECL(name, args)                                             \
    SHOAL_MPI_API int MPI_##name args;                                         \
    SHOAL_MPI_API int PMPI_##name args

SHOAL_MPI_DECL(Init, (int *argc, char ***argv));
SHOAL_MPI_DECL(Init_thread,
               (int *argc, char ***argv, int required, int *provided));
SHOAL_MPI_DECL(Initialized, (int *flag));
SHOAL_MPI_DECL(Finalize, (void));
SHOAL_MPI_DECL(Finalized, (int *flag));
SHOAL_MPI_DECL(Query_thread, (int *provided));
SHOAL_MPI_DECL(Is_thread_main, (int *flag));
SHOAL_MPI_DECL(Abort, (MPI_Comm comm, int errorcode));
SHOAL_MPI_DECL(Get_processor_name, (char *name, int *resultlen));
SHOAL_MPI_DECL(Get_version, (int *version, int *subversion));
SHOAL_MPI_DECL(Get_library_version, (char *version, int *resultlen));
SHOAL_MPI_API double MPI_Wtime(void);
SHOAL_MPI_API double PMPI_Wtime(void);
SHOAL_MPI_API double MPI_Wtick(void);
SHOAL_MPI_API double PMPI_Wtick(void);

/* Point to point */
SHOAL_MPI_DECL(Send,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm));
SHOAL_MPI_DECL(Ssend,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm));
SHOAL_MPI_DECL(Rsend,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm));
SHOAL_MPI_DECL(Bsend,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm));
SHOAL_MPI_DECL(Recv,
               (void *buf,
                int count,
                MPI_Datatype datatype,
                int source,
                int tag,
                MPI_Comm comm,
                MPI_Status *status));
SHOAL_MPI_DECL(Isend,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Issend,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Irsend,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ibsend,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Irecv,
               (void *buf,
                int count,
                MPI_Datatype datatype,
                int source,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Sendrecv,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                int dest,
                int sendtag,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                int source,
                int recvtag,
                MPI_Comm comm,
                MPI_Status *status));
SHOAL_MPI_DECL(Sendrecv_replace,
               (void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int sendtag,
                int source,
                int recvtag,
                MPI_Comm comm,
                MPI_Status *status));
SHOAL_MPI_DECL(Buffer_attach, (void *buffer, int size));
SHOAL_MPI_DECL(Buffer_detach, (void *buffer_addr, int *size));
SHOAL_MPI_DECL(Probe, (int source, int tag, MPI_Comm comm, MPI_Status *status));
SHOAL_MPI_DECL(
    Iprobe,
    (int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status));
SHOAL_MPI_DECL(Mprobe,
               (int source,
                int tag,
                MPI_Comm comm,
                MPI_Message *message,
                MPI_Status *status));
SHOAL_MPI_DECL(Improbe,
               (int source,
                int tag,
                MPI_Comm comm,
                int *flag,
                MPI_Message *message,
                MPI_Status *status));
SHOAL_MPI_DECL(Mrecv,
               (void *buf,
                int count,
                MPI_Datatype datatype,
                MPI_Message *message,
                MPI_Status *status));
SHOAL_MPI_DECL(Imrecv,
               (void *buf,
                int count,
                MPI_Datatype datatype,
                MPI_Message *message,
                MPI_Request *request));
SHOAL_MPI_DECL(Get_count,
               (const MPI_Status *status, MPI_Datatype datatype, int *count));
SHOAL_MPI_DECL(Get_elements,
               (const MPI_Status *status, MPI_Datatype datatype, int *count));
SHOAL_MPI_DECL(Send_init,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Get_elements_x,
               (const MPI_Status *status,
                MPI_Datatype datatype,
                MPI_Count *count));
SHOAL_MPI_DECL(Bsend_init,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Rsend_init,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
/* The profiling control: the library itself does nothing with it. */
SHOAL_MPI_DECL(Pcontrol, (const int level, ...));
SHOAL_MPI_DECL(Ssend_init,
               (const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Recv_init,
               (void *buf,
                int count,
                MPI_Datatype datatype,
                int source,
                int tag,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Start, (MPI_Request * request));
SHOAL_MPI_DECL(Startall, (int count, MPI_Request array_of_requests[]));

/* Completion */
SHOAL_MPI_DECL(Wait, (MPI_Request * request, MPI_Status *status));
SHOAL_MPI_DECL(Waitall,
               (int count,
                MPI_Request array_of_requests[],
                MPI_Status *array_of_statuses));
SHOAL_MPI_DECL(Waitany,
               (int count,
                MPI_Request array_of_requests[],
                int *index,
                MPI_Status *status));
SHOAL_MPI_DECL(Waitsome,
               (int incount,
                MPI_Request array_of_requests[],
                int *outcount,
                int array_of_indices[],
                MPI_Status *array_of_statuses));
SHOAL_MPI_DECL(Test, (MPI_Request * request, int *flag, MPI_Status *status));
SHOAL_MPI_DECL(Testall,
               (int count,
                MPI_Request array_of_requests[],
                int *flag,
                MPI_Status *array_of_statuses));
SHOAL_MPI_DECL(Testany,
               (int count,
                MPI_Request array_of_requests[],
                int *index,
                int *flag,
                MPI_Status *status));
SHOAL_MPI_DECL(Testsome,
               (int incount,
                MPI_Request array_of_requests[],
                int *outcount,
                int array_of_indices[],
                MPI_Status *array_of_statuses));
SHOAL_MPI_DECL(Request_free, (MPI_Request * request));
SHOAL_MPI_DECL(Request_get_status,
               (MPI_Request request, int *flag, MPI_Status *status));
SHOAL_MPI_DECL(Cancel, (MPI_Request * request));
SHOAL_MPI_DECL(Test_cancelled, (const MPI_Status *status, int *flag));
SHOAL_MPI_DECL(Grequest_start,
               (MPI_Grequest_query_function * query_fn,
                MPI_Grequest_free_function *free_fn,
                MPI_Grequest_cancel_function *cancel_fn,
                void *extra_state,
                MPI_Request *request));
SHOAL_MPI_DECL(Grequest_complete, (MPI_Request request));
SHOAL_MPI_DECL(Status_set_elements,
               (MPI_Status * status, MPI_Datatype datatype, int count));
SHOAL_MPI_DECL(Status_set_elements_x,
               (MPI_Status * status, MPI_Datatype datatype, MPI_Count count));
SHOAL_MPI_DECL(Status_set_cancelled, (MPI_Status * status, int flag));

/* Collectives */
SHOAL_MPI_DECL(Barrier, (MPI_Comm comm));
SHOAL_MPI_DECL(
    Bcast,
    (void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm));
SHOAL_MPI_DECL(Reduce,
               (const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                int root,
                MPI_Comm comm));
SHOAL_MPI_DECL(Allreduce,
               (const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm));
SHOAL_MPI_DECL(Gather,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                int root,
                MPI_Comm comm));
SHOAL_MPI_DECL(Gatherv,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int displs[],
                MPI_Datatype recvtype,
                int root,
                MPI_Comm comm));
SHOAL_MPI_DECL(Scatter,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                int root,
                MPI_Comm comm));
SHOAL_MPI_DECL(Scatterv,
               (const void *sendbuf,
                const int sendcounts[],
                const int displs[],
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                int root,
                MPI_Comm comm));
SHOAL_MPI_DECL(Allgather,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                MPI_Comm comm));
SHOAL_MPI_DECL(Allgatherv,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int displs[],
                MPI_Datatype recvtype,
                MPI_Comm comm));
SHOAL_MPI_DECL(Alltoall,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                MPI_Comm comm));
SHOAL_MPI_DECL(Alltoallv,
               (const void *sendbuf,
                const int sendcounts[],
                const int sdispls[],
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int rdispls[],
                MPI_Datatype recvtype,
                MPI_Comm comm));
SHOAL_MPI_DECL(Alltoallw,
               (const void *sendbuf,
                const int sendcounts[],
                const int sdispls[],
                const MPI_Datatype sendtypes[],
                void *recvbuf,
                const int recvcounts[],
                const int rdispls[],
                const MPI_Datatype recvtypes[],
                MPI_Comm comm));
SHOAL_MPI_DECL(Ialltoallv,
               (const void *sendbuf,
                const int sendcounts[],
                const int sdispls[],
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int rdispls[],
                MPI_Datatype recvtype,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ialltoallw,
               (const void *sendbuf,
                const int sendcounts[],
                const int sdispls[],
                const MPI_Datatype sendtypes[],
                void *recvbuf,
                const int recvcounts[],
                const int rdispls[],
                const MPI_Datatype recvtypes[],
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ireduce_scatter,
               (const void *sendbuf,
                void *recvbuf,
                const int recvcounts[],
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ireduce_scatter_block,
               (const void *sendbuf,
                void *recvbuf,
                int recvcount,
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Reduce_scatter,
               (const void *sendbuf,
                void *recvbuf,
                const int recvcounts[],
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm));
SHOAL_MPI_DECL(Reduce_scatter_block,
               (const void *sendbuf,
                void *recvbuf,
                int recvcount,
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm));
SHOAL_MPI_DECL(Scan,
               (const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm));
SHOAL_MPI_DECL(Exscan,
               (const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm));
SHOAL_MPI_DECL(Ibarrier, (MPI_Comm comm, MPI_Request *request));
SHOAL_MPI_DECL(Igatherv,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int displs[],
                MPI_Datatype recvtype,
                int root,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Iscatterv,
               (const void *sendbuf,
                const int sendcounts[],
                const int displs[],
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                int root,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Iallgatherv,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int displs[],
                MPI_Datatype recvtype,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Iscan,
               (const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Iexscan,
               (const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ibcast,
               (void *buffer,
                int count,
                MPI_Datatype datatype,
                int root,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ireduce,
               (const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                int root,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Iallreduce,
               (const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Igather,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                int root,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Iscatter,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                int root,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Iallgather,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ialltoall,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Neighbor_allgather,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                MPI_Comm comm));
SHOAL_MPI_DECL(Neighbor_allgatherv,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int displs[],
                MPI_Datatype recvtype,
                MPI_Comm comm));
SHOAL_MPI_DECL(Neighbor_alltoall,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                MPI_Comm comm));
SHOAL_MPI_DECL(Neighbor_alltoallv,
               (const void *sendbuf,
                const int sendcounts[],
                const int sdispls[],
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int rdispls[],
                MPI_Datatype recvtype,
                MPI_Comm comm));
SHOAL_MPI_DECL(Neighbor_alltoallw,
               (const void *sendbuf,
                const int sendcounts[],
                const MPI_Aint sdispls[],
                const MPI_Datatype sendtypes[],
                void *recvbuf,
                const int recvcounts[],
                const MPI_Aint rdispls[],
                const MPI_Datatype recvtypes[],
                MPI_Comm comm));
SHOAL_MPI_DECL(Ineighbor_allgather,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ineighbor_allgatherv,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int displs[],
                MPI_Datatype recvtype,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ineighbor_alltoall,
               (const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ineighbor_alltoallv,
               (const void *sendbuf,
                const int sendcounts[],
                const int sdispls[],
                MPI_Datatype sendtype,
                void *recvbuf,
                const int recvcounts[],
                const int rdispls[],
                MPI_Datatype recvtype,
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Ineighbor_alltoallw,
               (const void *sendbuf,
                const int sendcounts[],
                const MPI_Aint sdispls[],
                const MPI_Datatype sendtypes[],
                void *recvbuf,
                const int recvcounts[],
                const MPI_Aint rdispls[],
                const MPI_Datatype recvtypes[],
                MPI_Comm comm,
                MPI_Request *request));
SHOAL_MPI_DECL(Op_create,
               (MPI_User_function * user_fn, int commute, MPI_Op *op));
SHOAL_MPI_DECL(Op_free, (MPI_Op * op));
SHOAL_MPI_DECL(Op_commutative, (MPI_Op op, int *commute));
SHOAL_MPI_DECL(Reduce_local,
               (const void *inbuf,
                void *inoutbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op));

/* Communicators and groups */
SHOAL_MPI_DECL(Comm_rank, (MPI_Comm comm, int *rank));
SHOAL_MPI_DECL(Comm_size, (MPI_Comm comm, int *size));
SHOAL_MPI_DECL(Comm_dup, (MPI_Comm comm, MPI_Comm *newcomm));
SHOAL_MPI_DECL(Comm_idup,
               (MPI_Comm comm, MPI_Comm *newcomm, MPI_Request *request));
SHOAL_MPI_DECL(Comm_split,
               (MPI_Comm comm, int color, int key, MPI_Comm *newcomm));
SHOAL_MPI_DECL(
    Comm_split_type,
    (MPI_Comm comm, int split_type, int key, MPI_Info info, MPI_Comm *newcomm));
SHOAL_MPI_DECL(Comm_create,
               (MPI_Comm comm, MPI_Group group, MPI_Comm *newcomm));
SHOAL_MPI_DECL(Comm_free, (MPI_Comm * comm));
SHOAL_MPI_DECL(Comm_compare, (MPI_Comm comm1, MPI_Comm comm2, int *result));
SHOAL_MPI_DECL(Comm_group, (MPI_Comm comm, MPI_Group *group));
SHOAL_MPI_DECL(Comm_test_inter, (MPI_Comm comm, int *flag));
SHOAL_MPI_DECL(Comm_set_name, (MPI_Comm comm, const char *comm_name));
SHOAL_MPI_DECL(Comm_get_name, (MPI_Comm comm, char *comm_name, int *resultlen));
SHOAL_MPI_DECL(Comm_remote_size, (MPI_Comm comm, int *size));
SHOAL_MPI_DECL(Comm_remote_group, (MPI_Comm comm, MPI_Group *group));
SHOAL_MPI_DECL(Intercomm_create,
               (MPI_Comm local_comm,
                int local_leader,
                MPI_Comm peer_comm,
                int remote_leader,
                int tag,
                MPI_Comm *newintercomm));
SHOAL_MPI_DECL(Intercomm_merge,
               (MPI_Comm intercomm, int high, MPI_Comm *newintracomm));
SHOAL_MPI_DECL(Group_size, (MPI_Group group, int *size));
SHOAL_MPI_DECL(Group_rank, (MPI_Group group, int *rank));
SHOAL_MPI_DECL(
    Group_incl,
    (MPI_Group group, int n, const int ranks[], MPI_Group *newgroup));
SHOAL_MPI_DECL(
    Group_excl,
    (MPI_Group group, int n, const int ranks[], MPI_Group *newgroup));
SHOAL_MPI_DECL(Group_translate_ranks,
               (MPI_Group group1,
                int n,
                const int ranks1[],
                MPI_Group group2,
                int ranks2[]));
SHOAL_MPI_DECL(Group_compare,
               (MPI_Group group1, MPI_Group group2, int *result));
SHOAL_MPI_DECL(Group_free, (MPI_Group * group));
SHOAL_MPI_DECL(Group_range_incl,
               (MPI_Group group, int n, int ranges[][3], MPI_Group *newgroup));
SHOAL_MPI_DECL(Group_range_excl,
               (MPI_Group group, int n, int ranges[][3], MPI_Group *newgroup));
SHOAL_MPI_DECL(Group_union,
               (MPI_Group group1, MPI_Group group2, MPI_Group *newgroup));
SHOAL_MPI_DECL(Group_intersection,
               (MPI_Group group1, MPI_Group group2, MPI_Group *newgroup));
SHOAL_MPI_DECL(Group_difference,
               (MPI_Group group1, MPI_Group group2, MPI_Group *newgroup));
SHOAL_MPI_DECL(Comm_create_group,
               (MPI_Comm comm, MPI_Group group, int tag, MPI_Comm *newcomm));
SHOAL_MPI_DECL(Cart_create,
               (MPI_Comm comm_old,
                int ndims,
                const int dims[],
                const int periods[],
                int reorder,
                MPI_Comm *comm_cart));
SHOAL_MPI_DECL(Cart_coords,
               (MPI_Comm comm, int rank, int maxdims, int coords[]));
SHOAL_MPI_DECL(Cart_rank, (MPI_Comm comm, const int coords[], int *rank));
SHOAL_MPI_DECL(
    Cart_shift,
    (MPI_Comm comm, int direction, int disp, int *rank_source, int *rank_dest));
SHOAL_MPI_DECL(
    Cart_get,
    (MPI_Comm comm, int maxdims, int dims[], int periods[], int coords[]));
SHOAL_MPI_DECL(Cartdim_get, (MPI_Comm comm, int *ndims));
SHOAL_MPI_DECL(Dims_create, (int nnodes, int ndims, int dims[]));
SHOAL_MPI_DECL(Topo_test, (MPI_Comm comm, int *status));
SHOAL_MPI_DECL(Cart_sub,
               (MPI_Comm comm, const int remain_dims[], MPI_Comm *newcomm));
SHOAL_MPI_DECL(Cart_map,
               (MPI_Comm comm,
                int ndims,
                const int dims[],
                const int periods[],
                int *newrank));
SHOAL_MPI_DECL(Graph_map,
               (MPI_Comm comm,
                int nnodes,
                const int index[],
                const int edges[],
                int *newrank));
SHOAL_MPI_DECL(Graph_create,
               (MPI_Comm comm_old,
                int nnodes,
                const int index[],
                const int edges[],
                int reorder,
                MPI_Comm *comm_graph));
SHOAL_MPI_DECL(Graphdims_get, (MPI_Comm comm, int *nnodes, int *nedges));
SHOAL_MPI_DECL(
    Graph_get,
    (MPI_Comm comm, int maxindex, int maxedges, int index[], int edges[]));
SHOAL_MPI_DECL(Graph_neighbors_count,
               (MPI_Comm comm, int rank, int *nneighbors));
SHOAL_MPI_DECL(Graph_neighbors,
               (MPI_Comm comm, int rank, int maxneighbors, int neighbors[]));
SHOAL_MPI_DECL(Dist_graph_create_adjacent,
               (MPI_Comm comm_old,
                int indegree,
                const int sources[],
                const int sourceweights[],
                int outdegree,
                const int destinations[],
                const int destweights[],
                MPI_Info info,
                int reorder,
                MPI_Comm *comm_dist_graph));
SHOAL_MPI_DECL(Dist_graph_create,
               (MPI_Comm comm_old,
                int n,
                const int sources[],
                const int degrees[],
                const int destinations[],
                const int weights[],
                MPI_Info info,
                int reorder,
                MPI_Comm *comm_dist_graph));
SHOAL_MPI_DECL(Dist_graph_neighbors_count,
               (MPI_Comm comm, int *indegree, int *outdegree, int *weighted));
SHOAL_MPI_DECL(Dist_graph_neighbors,
               (MPI_Comm comm,
                int maxindegree,
                int sources[],
                int sourceweights[],
                int maxoutdegree,
                int destinations[],
                int destweights[]));

/* Attribute caching */
SHOAL_MPI_DECL(Comm_create_keyval,
               (MPI_Comm_copy_attr_function * comm_copy_attr_fn,
                MPI_Comm_delete_attr_function *comm_delete_attr_fn,
                int *comm_keyval,
                void *extra_state));
SHOAL_MPI_DECL(Comm_free_keyval, (int *comm_keyval));
SHOAL_MPI_DECL(Comm_set_attr,
               (MPI_Comm comm, int comm_keyval, void *attribute_val));
SHOAL_MPI_DECL(
    Comm_get_attr,
    (MPI_Comm comm, int comm_keyval, void *attribute_val, int *flag));
SHOAL_MPI_DECL(Comm_delete_attr, (MPI_Comm comm, int comm_keyval));
SHOAL_MPI_DECL(Keyval_create,
               (MPI_Copy_function * copy_fn,
                MPI_Delete_function *delete_fn,
                int *keyval,
                void *extra_state));
SHOAL_MPI_DECL(Keyval_free, (int *keyval));
SHOAL_MPI_DECL(Attr_put, (MPI_Comm comm, int keyval, void *attribute_val));
SHOAL_MPI_DECL(Attr_get,
               (MPI_Comm comm, int keyval, void *attribute_val, int *flag));
SHOAL_MPI_DECL(Attr_delete, (MPI_Comm comm, int keyval));
SHOAL_MPI_DECL(Type_create_keyval,
               (MPI_Type_copy_attr_function * type_copy_attr_fn,
                MPI_Type_delete_attr_function *type_delete_attr_fn,
                int *type_keyval,
                void *extra_state));
SHOAL_MPI_DECL(Type_free_keyval, (int *type_keyval));
SHOAL_MPI_DECL(Type_set_attr,
               (MPI_Datatype datatype, int type_keyval, void *attribute_val));
SHOAL_MPI_DECL(
    Type_get_attr,
    (MPI_Datatype datatype, int type_keyval, void *attribute_val, int *flag));
SHOAL_MPI_DECL(Type_delete_attr, (MPI_Datatype datatype, int type_keyval));

/* Info objects */
SHOAL_MPI_DECL(Info_create, (MPI_Info * info));
SHOAL_MPI_DECL(Info_set, (MPI_Info info, const char *key, const char *value));
SHOAL_MPI_DECL(
    Info_get,
    (MPI_Info info, const char *key, int valuelen, char *value, int *flag));
SHOAL_MPI_DECL(Info_get_valuelen,
               (MPI_Info info, const char *key, int *valuelen, int *flag));
SHOAL_MPI_DECL(Info_get_nkeys, (MPI_Info info, int *nkeys));
SHOAL_MPI_DECL(Info_get_nthkey, (MPI_Info info, int n, char *key));
SHOAL_MPI_DECL(Info_delete, (MPI_Info info, const char *key));
SHOAL_MPI_DECL(Info_dup, (MPI_Info info, MPI_Info *newinfo));
SHOAL_MPI_DECL(Info_free, (MPI_Info * info));
SHOAL_MPI_DECL(Comm_set_info, (MPI_Comm comm, MPI_Info info));
SHOAL_MPI_DECL(Comm_get_info, (MPI_Comm comm, MPI_Info *info_used));
SHOAL_MPI_DECL(Comm_dup_with_info,
               (MPI_Comm comm, MPI_Info info, MPI_Comm *newcomm));

/* Errors */
SHOAL_MPI_DECL(Comm_create_errhandler,
               (MPI_Comm_errhandler_function * fn, MPI_Errhandler *errhandler));
SHOAL_MPI_DECL(Comm_set_errhandler, (MPI_Comm comm, MPI_Errhandler errhandler));
SHOAL_MPI_DECL(Comm_get_errhandler,
               (MPI_Comm comm, MPI_Errhandler *errhandler));
SHOAL_MPI_DECL(Errhandler_set, (MPI_Comm comm, MPI_Errhandler errhandler));
SHOAL_MPI_DECL(Errhandler_get, (MPI_Comm comm, MPI_Errhandler *errhandler));
SHOAL_MPI_DECL(Errhandler_free, (MPI_Errhandler * errhandler));
SHOAL_MPI_DECL(Comm_call_errhandler, (MPI_Comm comm, int errorcode));
SHOAL_MPI_DECL(Error_string, (int errorcode, char *string, int *resultlen));
SHOAL_MPI_DECL(Error_class, (int errorcode, int *errorclass));
SHOAL_MPI_DECL(Add_error_class, (int *errorclass));
SHOAL_MPI_DECL(Add_error_code, (int errorclass, int *errorcode));
SHOAL_MPI_DECL(Add_error_string, (int errorcode, const char *string));

/* Memory for one-sided communication and message buffers */
SHOAL_MPI_DECL(Alloc_mem, (MPI_Aint size, MPI_Info info, void *baseptr));
SHOAL_MPI_DECL(Free_mem, (void *base));

/* Datatypes */
SHOAL_MPI_DECL(Type_size, (MPI_Datatype datatype, int *size));
SHOAL_MPI_DECL(Type_get_extent,
               (MPI_Datatype datatype, MPI_Aint *lb, MPI_Aint *extent));
SHOAL_MPI_DECL(Type_get_true_extent,
               (MPI_Datatype datatype,
                MPI_Aint *true_lb,
                MPI_Aint *true_extent));
SHOAL_MPI_DECL(Type_contiguous,
               (int count, MPI_Datatype oldtype, MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_vector,
               (int count,
                int blocklength,
                int stride,
                MPI_Datatype oldtype,
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_create_hvector,
               (int count,
                int blocklength,
                MPI_Aint stride,
                MPI_Datatype oldtype,
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_indexed,
               (int count,
                const int array_of_blocklengths[],
                const int array_of_displacements[],
                MPI_Datatype oldtype,
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_create_hindexed,
               (int count,
                const int array_of_blocklengths[],
                const MPI_Aint array_of_displacements[],
                MPI_Datatype oldtype,
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_create_indexed_block,
               (int count,
                int blocklength,
                const int array_of_displacements[],
                MPI_Datatype oldtype,
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_create_struct,
               (int count,
                const int array_of_blocklengths[],
                const MPI_Aint array_of_displacements[],
                const MPI_Datatype array_of_types[],
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_create_resized,
               (MPI_Datatype oldtype,
                MPI_Aint lb,
                MPI_Aint extent,
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_dup, (MPI_Datatype oldtype, MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_create_hindexed_block,
               (int count,
                int blocklength,
                const MPI_Aint array_of_displacements[],
                MPI_Datatype oldtype,
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_get_envelope,
               (MPI_Datatype datatype,
                int *num_integers,
                int *num_addresses,
                int *num_datatypes,
                int *combiner));
SHOAL_MPI_DECL(Type_get_contents,
               (MPI_Datatype datatype,
                int max_integers,
                int max_addresses,
                int max_datatypes,
                int array_of_integers[],
                MPI_Aint array_of_addresses[],
                MPI_Datatype array_of_datatypes[]));
SHOAL_MPI_DECL(Type_set_name, (MPI_Datatype datatype, const char *type_name));
SHOAL_MPI_DECL(Type_get_name,
               (MPI_Datatype datatype, char *type_name, int *resultlen));
SHOAL_MPI_DECL(Type_size_x, (MPI_Datatype datatype, MPI_Count *size));
SHOAL_MPI_DECL(Type_get_extent_x,
               (MPI_Datatype datatype, MPI_Count *lb, MPI_Count *extent));
SHOAL_MPI_DECL(Type_get_true_extent_x,
               (MPI_Datatype datatype,
                MPI_Count *true_lb,
                MPI_Count *true_extent));
SHOAL_MPI_DECL(Type_commit, (MPI_Datatype * datatype));
SHOAL_MPI_DECL(Type_free, (MPI_Datatype * datatype));
SHOAL_MPI_DECL(Pack,
               (const void *inbuf,
                int incount,
                MPI_Datatype datatype,
                void *outbuf,
                int outsize,
                int *position,
                MPI_Comm comm));
SHOAL_MPI_DECL(Unpack,
               (const void *inbuf,
                int insize,
                int *position,
                void *outbuf,
                int outcount,
                MPI_Datatype datatype,
                MPI_Comm comm));
SHOAL_MPI_DECL(Pack_size,
               (int incount, MPI_Datatype datatype, MPI_Comm comm, int *size));
SHOAL_MPI_DECL(Get_address, (const void *location, MPI_Aint *address));
SHOAL_MPI_DECL(Pack_external,
               (const char datarep[],
                const void *inbuf,
                int incount,
                MPI_Datatype datatype,
                void *outbuf,
                MPI_Aint outsize,
                MPI_Aint *position));
SHOAL_MPI_DECL(Unpack_external,
               (const char datarep[],
                const void *inbuf,
                MPI_Aint insize,
                MPI_Aint *position,
                void *outbuf,
                int outcount,
                MPI_Datatype datatype));
SHOAL_MPI_DECL(
    Pack_external_size,
    (const char datarep[], int incount, MPI_Datatype datatype, MPI_Aint *size));
SHOAL_MPI_DECL(Type_create_subarray,
               (int ndims,
                const int array_of_sizes[],
                const int array_of_subsizes[],
                const int array_of_starts[],
                int order,
                MPI_Datatype oldtype,
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_create_darray,
               (int size,
                int rank,
                int ndims,
                const int array_of_gsizes[],
                const int array_of_distribs[],
                const int array_of_dargs[],
                const int array_of_psizes[],
                int order,
                MPI_Datatype oldtype,
                MPI_Datatype *newtype));
SHOAL_MPI_DECL(Type_match_size,
               (int typeclass, int size, MPI_Datatype *datatype));

/* One-sided communication */
SHOAL_MPI_DECL(Win_create,
               (void *base,
                MPI_Aint size,
                int disp_unit,
                MPI_Info info,
                MPI_Comm comm,
                MPI_Win *win));
SHOAL_MPI_DECL(Win_allocate,
               (MPI_Aint size,
                int disp_unit,
                MPI_Info info,
                MPI_Comm comm,
                void *baseptr,
                MPI_Win *win));
SHOAL_MPI_DECL(Win_allocate_shared,
               (MPI_Aint size,
                int disp_unit,
                MPI_Info info,
                MPI_Comm comm,
                void *baseptr,
                MPI_Win *win));
SHOAL_MPI_DECL(
    Win_shared_query,
    (MPI_Win win, int rank, MPI_Aint *size, int *disp_unit, void *baseptr));
SHOAL_MPI_DECL(Win_create_dynamic,
               (MPI_Info info, MPI_Comm comm, MPI_Win *win));
SHOAL_MPI_DECL(Win_attach, (MPI_Win win, void *base, MPI_Aint size));
SHOAL_MPI_DECL(Win_detach, (MPI_Win win, const void *base));
SHOAL_MPI_DECL(Win_free, (MPI_Win * win));
SHOAL_MPI_DECL(Win_get_group, (MPI_Win win, MPI_Group *group));
SHOAL_MPI_DECL(Win_get_attr,
               (MPI_Win win, int win_keyval, void *attribute_val, int *flag));
SHOAL_MPI_DECL(Win_create_keyval,
               (MPI_Win_copy_attr_function * win_copy_attr_fn,
                MPI_Win_delete_attr_function *win_delete_attr_fn,
                int *win_keyval,
                void *extra_state));
SHOAL_MPI_DECL(Win_free_keyval, (int *win_keyval));
SHOAL_MPI_DECL(Win_set_attr,
               (MPI_Win win, int win_keyval, void *attribute_val));
SHOAL_MPI_DECL(Win_delete_attr, (MPI_Win win, int win_keyval));
SHOAL_MPI_DECL(Win_set_name, (MPI_Win win, const char *win_name));
SHOAL_MPI_DECL(Win_get_name, (MPI_Win win, char *win_name, int *resultlen));
SHOAL_MPI_DECL(Win_set_info, (MPI_Win win, MPI_Info info));
SHOAL_MPI_DECL(Win_get_info, (MPI_Win win, MPI_Info *info_used));
SHOAL_MPI_DECL(Win_create_errhandler,
               (MPI_Win_errhandler_function * fn, MPI_Errhandler *errhandler));
SHOAL_MPI_DECL(Win_set_errhandler, (MPI_Win win, MPI_Errhandler errhandler));
SHOAL_MPI_DECL(Win_get_errhandler, (MPI_Win win, MPI_Errhandler *errhandler));
SHOAL_MPI_DECL(Win_call_errhandler, (MPI_Win win, int errorcode));
SHOAL_MPI_DECL(Put,
               (const void *origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Win win));
SHOAL_MPI_DECL(Get,
               (void *origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Win win));
SHOAL_MPI_DECL(Accumulate,
               (const void *origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Op op,
                MPI_Win win));
SHOAL_MPI_DECL(Get_accumulate,
               (const void *origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                void *result_addr,
                int result_count,
                MPI_Datatype result_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Op op,
                MPI_Win win));
SHOAL_MPI_DECL(Fetch_and_op,
               (const void *origin_addr,
                void *result_addr,
                MPI_Datatype datatype,
                int target_rank,
                MPI_Aint target_disp,
                MPI_Op op,
                MPI_Win win));
SHOAL_MPI_DECL(Compare_and_swap,
               (const void *origin_addr,
                const void *compare_addr,
                void *result_addr,
                MPI_Datatype datatype,
                int target_rank,
                MPI_Aint target_disp,
                MPI_Win win));
SHOAL_MPI_DECL(Rput,
               (const void *origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Win win,
                MPI_Request *request));
SHOAL_MPI_DECL(Rget,
               (void *origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Win win,
                MPI_Request *request));
SHOAL_MPI_DECL(Raccumulate,
               (const void *origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Op op,
                MPI_Win win,
                MPI_Request *request));
SHOAL_MPI_DECL(Rget_accumulate,
               (const void *origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                void *result_addr,
                int result_count,
                MPI_Datatype result_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Op op,
                MPI_Win win,
                MPI_Request *request));
SHOAL_MPI_DECL(Win_fence, (int assert, MPI_Win win));
SHOAL_MPI_DECL(Win_post, (MPI_Group group, int assert, MPI_Win win));
SHOAL_MPI_DECL(Win_start, (MPI_Group group, int assert, MPI_Win win));
SHOAL_MPI_DECL(Win_complete, (MPI_Win win));
SHOAL_MPI_DECL(Win_wait, (MPI_Win win));
SHOAL_MPI_DECL(Win_test, (MPI_Win win, int *flag));
SHOAL_MPI_DECL(Win_lock, (int lock_type, int rank, int assert, MPI_Win win));
SHOAL_MPI_DECL(Win_unlock, (int rank, MPI_Win win));
SHOAL_MPI_DECL(Win_lock_all, (int assert, MPI_Win win));
SHOAL_MPI_DECL(Win_unlock_all, (MPI_Win win));
SHOAL_MPI_DECL(Win_flush, (int rank, MPI_Win win));
SHOAL_MPI_DECL(Win_flush_all, (MPI_Win win));
SHOAL_MPI_DECL(Win_flush_local, (int rank, MPI_Win win));
SHOAL_MPI_DECL(Win_flush_local_all, (MPI_Win win));
SHOAL_MPI_DECL(Win_sync, (MPI_Win win));

#undef SHOAL_MPI_DECL

#ifdef __cplusplus
}
#endif

#endif
