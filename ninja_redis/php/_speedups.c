/*
 * C accelerator for ninja_redis.php: PHP serialize() / unserialize().
 *
 * This is a line-by-line port of ninja_redis/php/_pure.py (the reference): same
 * results, same exception classes, same messages and byte offsets. Rare paths
 * (array key normalisation, error messages for unsupported types, allowed_classes
 * set-up) call back into _pure so both stay identical by construction.
 *
 * Both directions are iterative (explicit stacks): nesting is bounded by max_depth
 * and memory only, never by the C stack.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* --------------------------------------------------------------------------- */
/* module state (kept in statics: the module is imported once per process)     */

static PyObject *T_PhpObject, *T_PhpIncompleteClass, *T_PhpEnum, *T_PhpSerializable,
    *T_PhpIncompleteSerializable, *T_PhpRef;
static PyObject *E_Serialize, *E_Unserialize;
static PyObject *F_array_key, *F_prop_key, *F_type_error, *F_class_bytes,
    *F_normalize_allowed;
static PyObject *S_class_name, *S_properties, *S_case, *S_data, *S_value;
static PyObject *S_surrogateescape_dummy;

#define INT64_MAX_U ((uint64_t)9223372036854775807ULL)

/* --------------------------------------------------------------------------- */
/* errors                                                                      */

static void
raise_unser(const char *msg, PyObject *data, Py_ssize_t offset)
{
    PyObject *args = Py_BuildValue("(sOn)", msg, data, offset);
    if (args == NULL)
        return;
    PyObject *exc = PyObject_Call(E_Unserialize, args, NULL);
    Py_DECREF(args);
    if (exc == NULL)
        return;
    PyErr_SetObject(E_Unserialize, exc);
    Py_DECREF(exc);
}

static void
raise_ser(PyObject *msg, PyObject *value)
{
    PyObject *exc = PyObject_CallFunctionObjArgs(E_Serialize, msg, value, NULL);
    if (exc == NULL)
        return;
    PyErr_SetObject(E_Serialize, exc);
    Py_DECREF(exc);
}

/* --------------------------------------------------------------------------- */
/* loads                                                                       */

typedef struct {
    PyObject *cont;      /* list or dict (owned) */
    PyObject *obj;       /* PhpObject or NULL (owned) */
    PyObject *key;       /* current key (owned) or NULL */
    Py_ssize_t remaining;
    Py_ssize_t slot;
    int list_mode;
} Frame;

typedef struct {
    PyObject *data; /* bytes */
    const unsigned char *p;
    Py_ssize_t n;
    PyObject *allowed; /* frozenset of lower-cased bytes, or NULL = all */
    Py_ssize_t max_depth;
    /* slots: owned references, index 0 unused */
    PyObject **slots;
    Py_ssize_t nslots, capslots;
    Frame *stack;
    Py_ssize_t depth, capstack;
    /* R: to a scalar */
    PyObject *need;      /* set of ints (pass 1) or NULL */
    const char *wrap;    /* pass 2: wrap[i] != 0 -> slot i becomes a PhpRef */
    Py_ssize_t wraplen;
    PyObject *refs;      /* dict slot -> PhpRef for R: to objects */
} Dec;

static int
push_slot(Dec *d, PyObject *v)
{
    if (d->nslots == d->capslots) {
        Py_ssize_t cap = d->capslots ? d->capslots * 2 : 64;
        PyObject **s = PyMem_Realloc(d->slots, (size_t)cap * sizeof(PyObject *));
        if (s == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        d->slots = s;
        d->capslots = cap;
    }
    Py_INCREF(v);
    d->slots[d->nslots++] = v;
    return 0;
}

static Py_ssize_t
find_byte(Dec *d, Py_ssize_t from, unsigned char c)
{
    if (from >= d->n)
        return -1;
    const unsigned char *r = memchr(d->p + from, c, (size_t)(d->n - from));
    return r ? (Py_ssize_t)(r - d->p) : -1;
}

static int
all_digits(const unsigned char *s, Py_ssize_t len)
{
    if (len <= 0)
        return 0;
    for (Py_ssize_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static Py_ssize_t
digits_value(const unsigned char *s, Py_ssize_t len)
{
    Py_ssize_t v = 0;
    for (Py_ssize_t i = 0; i < len; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* _uint_at: [0-9]{1,18} from pos up to stop; returns value, *end = index of stop */
static int
uint_at(Dec *d, Py_ssize_t pos, unsigned char stop, Py_ssize_t start,
        Py_ssize_t *value, Py_ssize_t *end)
{
    Py_ssize_t e = find_byte(d, pos, stop);
    if (e < 0) {
        raise_unser("unexpected end of data", d->data, start);
        return -1;
    }
    Py_ssize_t len = e - pos;
    if (!all_digits(d->p + pos, len) || len > 18) {
        raise_unser("malformed length or count", d->data, start);
        return -1;
    }
    *value = digits_value(d->p + pos, len);
    *end = e;
    return 0;
}

static int
byte_at(Dec *d, Py_ssize_t i, unsigned char c)
{
    return i >= 0 && i < d->n && d->p[i] == c;
}

/* text [pos, semi) is [+-]?[0-9]+ ; 0 ok, -1 malformed, -2 out of range */
static int
parse_int(const unsigned char *s, Py_ssize_t len, long long *out)
{
    int neg = 0;
    Py_ssize_t i = 0;
    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (!all_digits(s + i, len - i))
        return -1;
    while (i < len - 1 && s[i] == '0')
        i++;
    if (len - i > 19)
        return -2;
    uint64_t v = 0;
    for (; i < len; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > INT64_MAX_U + (uint64_t)neg)
        return -2;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

/* d: payload: [+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)? */
static int
float_syntax(const unsigned char *s, Py_ssize_t len)
{
    Py_ssize_t i = 0, a;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    a = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i > a) {
        if (i < len && s[i] == '.') {
            i++;
            while (i < len && s[i] >= '0' && s[i] <= '9')
                i++;
        }
    }
    else {
        if (i >= len || s[i] != '.')
            return 0;
        i++;
        a = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == a)
            return 0;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        a = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == a)
            return 0;
    }
    return i == len;
}

static const double pow10tab[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Clinger's fast path for text that passed float_syntax(): when the significand
 * has at most 15 digits and the decimal exponent is within +-22, the result of one
 * IEEE multiplication or division is the correctly rounded value (both operands
 * are exact doubles). Returns 0 when the slow, general strtod is needed. */
static int
fast_strtod(const unsigned char *s, Py_ssize_t len, double *out)
{
    Py_ssize_t i = 0;
    int neg = 0, nd = 0, exp10 = 0;
    uint64_t m = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (m == 0 && s[i] == '0')
            continue; /* leading zeros */
        if (++nd > 15)
            return 0;
        m = m * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            exp10--;
            if (m == 0 && s[i] == '0')
                continue;
            if (++nd > 15)
                return 0;
            m = m * 10 + (uint64_t)(s[i] - '0');
        }
    }
    if (i < len) { /* [eE][+-]?[0-9]+ */
        int eneg = 0, e = 0;
        i++;
        if (s[i] == '+' || s[i] == '-')
            eneg = s[i++] == '-';
        for (; i < len; i++) {
            if (e > 1000)
                return 0;
            e = e * 10 + (s[i] - '0');
        }
        exp10 += eneg ? -e : e;
    }
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
    return 0; /* x87 extended precision: double rounding, use strtod */
#endif
    double x = (double)m;
    if (m == 0)
        x = 0.0;
    else if (exp10 < 0) {
        if (exp10 < -22)
            return 0;
        x /= pow10tab[-exp10];
    }
    else {
        if (exp10 > 22)
            return 0;
        x *= pow10tab[exp10];
    }
    *out = neg ? -x : x;
    return 1;
}

static int
valid_class_name(const unsigned char *s, Py_ssize_t len)
{
    if (len <= 0)
        return 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '\\' || c >= 0x80))
            return 0;
    }
    return 1;
}

/* A direct-mapped cache of short ASCII str objects, keyed by their bytes: PHP
 * arrays of records repeat the same keys (and many short values) over and over;
 * reusing the str (hash already computed) saves the allocation, the decoding and
 * the dict's hashing. str objects are immutable, so sharing them is invisible. */
#define SCACHE_SIZE 4096
#define SCACHE_MAXLEN 48
static PyObject *scache[SCACHE_SIZE];

static PyObject *
decode_ascii_or_utf8(const unsigned char *s, Py_ssize_t len)
{
    PyObject *v = PyUnicode_DecodeUTF8((const char *)s, len, NULL);
    if (v == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
            return NULL;
        PyErr_Clear();
        v = PyBytes_FromStringAndSize((const char *)s, len);
    }
    return v;
}

/* UTF-8 text as str, other bytes as bytes (short ASCII strings come from scache) */
static PyObject *
decode_str(const unsigned char *s, Py_ssize_t len)
{
    if (len == 0 || len > SCACHE_MAXLEN)
        return decode_ascii_or_utf8(s, len);
    /* hash 8 bytes at a time; the OR of all bytes tells ASCII */
    uint64_t w, acc = 0, h = (uint64_t)len * 0x9E3779B97F4A7C15ull;
    if (len >= 8) {
        Py_ssize_t i = 0;
        for (; i + 8 <= len; i += 8) {
            memcpy(&w, s + i, 8);
            acc |= w;
            h = (h ^ w) * 0xff51afd7ed558ccdull;
        }
        if (i < len) {
            memcpy(&w, s + len - 8, 8);
            acc |= w;
            h = (h ^ w) * 0xff51afd7ed558ccdull;
        }
    }
    else {
        w = 0;
        memcpy(&w, s, (size_t)len);
        acc = w;
        h = (h ^ w) * 0xff51afd7ed558ccdull;
    }
    if (acc & 0x8080808080808080ull)
        return decode_ascii_or_utf8(s, len);
    h ^= h >> 29;
    PyObject **slot = &scache[h & (SCACHE_SIZE - 1)];
    PyObject *c = *slot;
    if (c != NULL && PyUnicode_GET_LENGTH(c) == len &&
        memcmp(PyUnicode_1BYTE_DATA(c), s, (size_t)len) == 0)
        return Py_NewRef(c);
    PyObject *v = PyUnicode_New(len, 127);
    if (v == NULL)
        return NULL;
    memcpy(PyUnicode_1BYTE_DATA(v), s, (size_t)len);
    (void)PyObject_Hash(v); /* cached in the object */
    Py_XSETREF(*slot, Py_NewRef(v));
    return v;
}

/* _class_at: X:LEN:"Class": at pos. Returns new ref to name, *ok, *after */
static PyObject *
class_at(Dec *d, Py_ssize_t pos, Py_ssize_t start, int *ok, Py_ssize_t *after)
{
    Py_ssize_t ln, q;
    if (uint_at(d, pos + 2, ':', start, &ln, &q) < 0)
        return NULL;
    Py_ssize_t cend = q + 2 + ln;
    if (!byte_at(d, q + 1, '"') || cend + 2 > d->n || d->p[cend] != '"' ||
        d->p[cend + 1] != ':') {
        raise_unser("malformed class name", d->data, start);
        return NULL;
    }
    const unsigned char *cb = d->p + q + 2;
    if (!valid_class_name(cb, ln)) {
        raise_unser("invalid class name", d->data, start);
        return NULL;
    }
    PyObject *cls = PyUnicode_DecodeUTF8((const char *)cb, ln, "surrogateescape");
    if (cls == NULL)
        return NULL;
    *ok = 1;
    if (d->allowed != NULL) {
        /* never mutate a fresh bytes object in place: 1-byte ones are shared */
        char *lb = PyMem_Malloc((size_t)ln + 1);
        if (lb == NULL) {
            Py_DECREF(cls);
            PyErr_NoMemory();
            return NULL;
        }
        for (Py_ssize_t i = 0; i < ln; i++)
            lb[i] = (char)((cb[i] >= 'A' && cb[i] <= 'Z') ? cb[i] + 32 : cb[i]);
        PyObject *low = PyBytes_FromStringAndSize(lb, ln);
        PyMem_Free(lb);
        if (low == NULL) {
            Py_DECREF(cls);
            return NULL;
        }
        int r = PySet_Contains(d->allowed, low);
        Py_DECREF(low);
        if (r < 0) {
            Py_DECREF(cls);
            return NULL;
        }
        *ok = r;
    }
    *after = cend + 2;
    return cls;
}

static int
is_num_start(unsigned char c)
{
    return c == '-' || (c >= '0' && c <= '9');
}

/* canonical int: 0 | -?[1-9][0-9]{0,18}, within int64 */
static int
canonical_int(const unsigned char *s, Py_ssize_t len, long long *out)
{
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    Py_ssize_t i = 0;
    if (len > 0 && s[0] == '-')
        i = 1;
    if (i >= len || s[i] < '1' || s[i] > '9' || len - i > 19)
        return 0;
    if (!all_digits(s + i, len - i))
        return 0;
    long long v;
    if (parse_int(s, len, &v) != 0)
        return 0;
    *out = v;
    return 1;
}

static PyObject *
new_dict(Py_ssize_t size)
{
#if PY_VERSION_HEX < 0x030D0000
    if (size > 5)
        return _PyDict_NewPresized(size);
#endif
    (void)size;
    return PyDict_New();
}

/* _read_key: returns new pos or -1 */
static Py_ssize_t
read_key(Dec *d, Py_ssize_t pos, Frame *fr)
{
    PyObject *k;
    Py_ssize_t end;
    const unsigned char *p = d->p;
    if (pos + 1 < d->n && p[pos] == 'i' && p[pos + 1] == ':') {
        Py_ssize_t semi = find_byte(d, pos + 2, ';');
        long long iv;
        int r = semi < 0 ? -1 : parse_int(p + pos + 2, semi - pos - 2, &iv);
        if (r == -1) {
            raise_unser("malformed integer key", d->data, pos);
            return -1;
        }
        if (r == -2) {
            raise_unser("integer out of 64-bit range", d->data, pos);
            return -1;
        }
        if (fr->list_mode && iv == (long long)PyList_GET_SIZE(fr->cont)) {
            Py_CLEAR(fr->key);
            return semi + 1;
        }
        k = PyLong_FromLongLong(iv);
        if (k == NULL)
            return -1;
        end = semi + 1;
    }
    else if (pos + 1 < d->n && p[pos] == 's' && p[pos + 1] == ':') {
        Py_ssize_t colon = find_byte(d, pos + 2, ':');
        Py_ssize_t dl = colon - pos - 2;
        if (colon < 0 || !all_digits(p + pos + 2, dl) || dl > 18) {
            raise_unser("malformed string key length", d->data, pos);
            return -1;
        }
        Py_ssize_t len = digits_value(p + pos + 2, dl);
        Py_ssize_t e = colon + 2 + len;
        if (!byte_at(d, colon + 1, '"') || e + 2 > d->n || p[e] != '"' ||
            p[e + 1] != ';') {
            raise_unser("malformed string key (declared length mismatch)", d->data,
                        pos);
            return -1;
        }
        const unsigned char *raw = p + colon + 2;
        long long iv;
        if (fr->obj == NULL && len > 0 && is_num_start(raw[0]) &&
            canonical_int(raw, len, &iv)) {
            if (fr->list_mode && iv == (long long)PyList_GET_SIZE(fr->cont)) {
                Py_CLEAR(fr->key);
                return e + 2;
            }
            k = PyLong_FromLongLong(iv);
        }
        else {
            k = decode_str(raw, len);
        }
        if (k == NULL)
            return -1;
        end = e + 2;
    }
    else {
        raise_unser("array or object key must be an int or a string", d->data, pos);
        return -1;
    }
    if (fr->list_mode) {
        /* keys are not 0..n-1 in order: this PHP array is a dict */
        PyObject *dict = new_dict(PyList_GET_SIZE(fr->cont) + fr->remaining);
        if (dict == NULL) {
            Py_DECREF(k);
            return -1;
        }
        Py_ssize_t m = PyList_GET_SIZE(fr->cont);
        for (Py_ssize_t i = 0; i < m; i++) {
            PyObject *ik = PyLong_FromSsize_t(i);
            if (ik == NULL || PyDict_SetItem(dict, ik, PyList_GET_ITEM(fr->cont, i)) < 0) {
                Py_XDECREF(ik);
                Py_DECREF(dict);
                Py_DECREF(k);
                return -1;
            }
            Py_DECREF(ik);
        }
        Py_SETREF(fr->cont, dict);
        fr->list_mode = 0;
        Py_INCREF(dict);
        Py_SETREF(d->slots[fr->slot], dict);
    }
    Py_XSETREF(fr->key, k);
    return end;
}

static void
dec_free(Dec *d)
{
    for (Py_ssize_t i = 0; i < d->nslots; i++)
        Py_XDECREF(d->slots[i]);
    PyMem_Free(d->slots);
    for (Py_ssize_t i = 0; i < d->depth; i++) {
        Py_XDECREF(d->stack[i].cont);
        Py_XDECREF(d->stack[i].obj);
        Py_XDECREF(d->stack[i].key);
    }
    PyMem_Free(d->stack);
    Py_XDECREF(d->need);
    Py_XDECREF(d->refs);
}

/* 0 = ok (*out, *endpos), -1 = error, 1 = need a wrapping pass (d->need) */
static int
decode(Dec *d, PyObject **out, Py_ssize_t *endpos)
{
    const unsigned char *p = d->p;
    const Py_ssize_t n = d->n;
    Py_ssize_t pos = 0;
    PyObject *v = NULL; /* owned */
    if (push_slot(d, Py_None) < 0)
        return -1;
    for (;;) {
        Py_ssize_t start = pos;
        int new_slot = 1;
        unsigned char t0 = pos < n ? p[pos] : 0;
        unsigned char t1 = pos + 1 < n ? p[pos + 1] : 0;
        if (t1 == ':' && t0 == 's') {
            /* s:5:"hello"; */
            Py_ssize_t colon = find_byte(d, pos + 2, ':');
            Py_ssize_t dl = colon - pos - 2;
            if (colon < 0 || !all_digits(p + pos + 2, dl) || dl > 18) {
                raise_unser("malformed string length", d->data, start);
                return -1;
            }
            Py_ssize_t len = digits_value(p + pos + 2, dl);
            Py_ssize_t end = colon + 2 + len;
            if (!byte_at(d, colon + 1, '"') || end + 2 > n || p[end] != '"' ||
                p[end + 1] != ';') {
                raise_unser("malformed string (declared length mismatch)", d->data,
                            start);
                return -1;
            }
            v = decode_str(p + colon + 2, len);
            if (v == NULL)
                return -1;
            pos = end + 2;
        }
        else if (t1 == ':' && t0 == 'i') {
            Py_ssize_t semi = find_byte(d, pos + 2, ';');
            long long iv;
            int r = semi < 0 ? -1 : parse_int(p + pos + 2, semi - pos - 2, &iv);
            if (r == -1) {
                raise_unser("malformed integer", d->data, start);
                return -1;
            }
            if (r == -2) {
                raise_unser("integer out of 64-bit range", d->data, start);
                return -1;
            }
            v = PyLong_FromLongLong(iv);
            if (v == NULL)
                return -1;
            pos = semi + 1;
        }
        else if (t1 == ':' && (t0 == 'a' || t0 == 'O')) {
            PyObject *obj = NULL, *cont;
            Py_ssize_t count, brace;
            if (t0 == 'O') {
                int ok;
                Py_ssize_t q;
                PyObject *cls = class_at(d, pos, start, &ok, &q);
                if (cls == NULL)
                    return -1;
                if (uint_at(d, q, ':', start, &count, &brace) < 0) {
                    Py_DECREF(cls);
                    return -1;
                }
                if (!byte_at(d, brace + 1, '{')) {
                    Py_DECREF(cls);
                    raise_unser("malformed object header", d->data, start);
                    return -1;
                }
                PyTypeObject *tp =
                    (PyTypeObject *)(ok ? T_PhpObject : T_PhpIncompleteClass);
                obj = tp->tp_alloc(tp, 0);
                cont = PyDict_New();
                if (obj == NULL || cont == NULL ||
                    PyObject_SetAttr(obj, S_class_name, cls) < 0 ||
                    PyObject_SetAttr(obj, S_properties, cont) < 0) {
                    Py_DECREF(cls);
                    Py_XDECREF(obj);
                    Py_XDECREF(cont);
                    return -1;
                }
                Py_DECREF(cls);
            }
            else {
                if (uint_at(d, pos + 2, ':', start, &count, &brace) < 0)
                    return -1;
                if (!byte_at(d, brace + 1, '{')) {
                    raise_unser("malformed array header", d->data, start);
                    return -1;
                }
                cont = PyList_New(0);
                if (cont == NULL)
                    return -1;
            }
            pos = brace + 2;
            if (count > (n - pos) / 6 || count * 6 > n - pos) {
                raise_unser("element count exceeds the input size", d->data, start);
                Py_XDECREF(obj);
                Py_DECREF(cont);
                return -1;
            }
            if (d->max_depth && d->depth >= d->max_depth) {
                char msg[80];
                PyOS_snprintf(msg, sizeof msg, "maximum depth of %zd exceeded",
                              d->max_depth);
                raise_unser(msg, d->data, start);
                Py_XDECREF(obj);
                Py_DECREF(cont);
                return -1;
            }
            Py_ssize_t slot = d->nslots;
            if (push_slot(d, obj ? obj : cont) < 0) {
                Py_XDECREF(obj);
                Py_DECREF(cont);
                return -1;
            }
            if (count) {
                if (d->depth == d->capstack) {
                    Py_ssize_t cap = d->capstack ? d->capstack * 2 : 16;
                    Frame *s = PyMem_Realloc(d->stack, (size_t)cap * sizeof(Frame));
                    if (s == NULL) {
                        Py_XDECREF(obj);
                        Py_DECREF(cont);
                        PyErr_NoMemory();
                        return -1;
                    }
                    d->stack = s;
                    d->capstack = cap;
                }
                Frame *fr = &d->stack[d->depth++];
                fr->cont = cont;
                fr->obj = obj;
                fr->key = NULL;
                fr->remaining = count;
                fr->slot = slot;
                fr->list_mode = obj == NULL;
                pos = read_key(d, pos, fr);
                if (pos < 0)
                    return -1;
                continue;
            }
            if (!byte_at(d, pos, '}')) {
                raise_unser("expected '}'", d->data, pos);
                Py_XDECREF(obj);
                Py_DECREF(cont);
                return -1;
            }
            pos += 1;
            if (obj) {
                Py_DECREF(cont);
                v = obj;
            }
            else
                v = cont;
            new_slot = 0;
            if (d->depth == 0) {
                *out = v;
                *endpos = pos;
                return d->need ? 1 : 0;
            }
        }
        else if (t0 == 'N' && t1 == ';') {
            v = Py_NewRef(Py_None);
            pos += 2;
        }
        else if (t1 == ':' && t0 == 'b') {
            if (pos + 3 < n && p[pos + 3] == ';' && (p[pos + 2] == '0' || p[pos + 2] == '1')) {
                v = Py_NewRef(p[pos + 2] == '1' ? Py_True : Py_False);
            }
            else {
                raise_unser("malformed boolean", d->data, start);
                return -1;
            }
            pos += 4;
        }
        else if (t1 == ':' && t0 == 'd') {
            Py_ssize_t semi = find_byte(d, pos + 2, ';');
            if (semi < 0) {
                raise_unser("malformed float", d->data, start);
                return -1;
            }
            const unsigned char *s = p + pos + 2;
            Py_ssize_t len = semi - pos - 2;
            double x;
            if (float_syntax(s, len) && fast_strtod(s, len, &x)) {
                /* exact: a <= 15-digit integer times or divided by 10^k, k <= 22 */
            }
            else if (float_syntax(s, len)) {
                char buf[64];
                char *tmp = buf;
                if (len >= (Py_ssize_t)sizeof buf) {
                    tmp = PyMem_Malloc((size_t)len + 1);
                    if (tmp == NULL) {
                        PyErr_NoMemory();
                        return -1;
                    }
                }
                memcpy(tmp, s, (size_t)len);
                tmp[len] = 0;
                x = PyOS_string_to_double(tmp, NULL, NULL);
                if (tmp != buf)
                    PyMem_Free(tmp);
                if (x == -1.0 && PyErr_Occurred())
                    return -1;
            }
            else if (len == 3 && memcmp(s, "INF", 3) == 0)
                x = Py_HUGE_VAL;
            else if (len == 4 && memcmp(s, "-INF", 4) == 0)
                x = -Py_HUGE_VAL;
            else if (len == 3 && memcmp(s, "NAN", 3) == 0)
                x = Py_NAN;
            else {
                raise_unser("malformed float", d->data, start);
                return -1;
            }
            v = PyFloat_FromDouble(x);
            if (v == NULL)
                return -1;
            pos = semi + 1;
        }
        else if (t1 == ':' && (t0 == 'r' || t0 == 'R')) {
            Py_ssize_t idx, semi;
            if (uint_at(d, pos + 2, ';', start, &idx, &semi) < 0)
                return -1;
            if (idx < 1 || idx >= d->nslots) {
                raise_unser("back-reference to an unknown slot", d->data, start);
                return -1;
            }
            PyObject *target = d->slots[idx];
            pos = semi + 1;
            if (t0 == 'R') {
                if (PyList_Check(target) || PyDict_Check(target) ||
                    PyObject_TypeCheck(target, (PyTypeObject *)T_PhpRef)) {
                    v = Py_NewRef(target);
                }
                else if (PyObject_TypeCheck(target, (PyTypeObject *)T_PhpObject) ||
                         PyObject_TypeCheck(target, (PyTypeObject *)T_PhpEnum) ||
                         PyObject_TypeCheck(target, (PyTypeObject *)T_PhpSerializable)) {
                    PyObject *ik = PyLong_FromSsize_t(idx);
                    if (ik == NULL)
                        return -1;
                    if (d->refs == NULL && (d->refs = PyDict_New()) == NULL) {
                        Py_DECREF(ik);
                        return -1;
                    }
                    PyObject *ref = PyDict_GetItemWithError(d->refs, ik);
                    if (ref == NULL) {
                        if (PyErr_Occurred()) {
                            Py_DECREF(ik);
                            return -1;
                        }
                        ref = PyObject_CallOneArg(T_PhpRef, target);
                        if (ref == NULL || PyDict_SetItem(d->refs, ik, ref) < 0) {
                            Py_XDECREF(ref);
                            Py_DECREF(ik);
                            return -1;
                        }
                    }
                    else
                        Py_INCREF(ref);
                    Py_DECREF(ik);
                    v = ref;
                }
                else {
                    /* a reference to a scalar: a second, wrapping pass follows */
                    if (d->need == NULL && (d->need = PySet_New(NULL)) == NULL)
                        return -1;
                    PyObject *ik = PyLong_FromSsize_t(idx);
                    if (ik == NULL || PySet_Add(d->need, ik) < 0) {
                        Py_XDECREF(ik);
                        return -1;
                    }
                    Py_DECREF(ik);
                    v = Py_NewRef(Py_None);
                }
                new_slot = 0; /* R: takes no slot */
                if (d->depth == 0) {
                    *out = v;
                    *endpos = pos;
                    return d->need ? 1 : 0;
                }
            }
            else if (PyObject_TypeCheck(target, (PyTypeObject *)T_PhpRef)) {
                v = PyObject_GetAttr(target, S_value);
                if (v == NULL)
                    return -1;
            }
            else
                v = Py_NewRef(target);
        }
        else if (t1 == ':' && t0 == 'E') {
            Py_ssize_t ln, q;
            if (uint_at(d, pos + 2, ':', start, &ln, &q) < 0)
                return -1;
            Py_ssize_t eend = q + 2 + ln;
            if (!byte_at(d, q + 1, '"') || eend + 2 > n || p[eend] != '"' ||
                p[eend + 1] != ';') {
                raise_unser("malformed enum", d->data, start);
                return -1;
            }
            const unsigned char *body = p + q + 2;
            const unsigned char *sep = memchr(body, ':', (size_t)ln);
            Py_ssize_t si = sep ? (Py_ssize_t)(sep - body) : -1;
            if (si <= 0 || si == ln - 1) {
                raise_unser("malformed enum name", d->data, start);
                return -1;
            }
            PyObject *c = PyUnicode_DecodeUTF8((const char *)body, si, "surrogateescape");
            PyObject *cs = c ? PyUnicode_DecodeUTF8((const char *)body + si + 1,
                                                    ln - si - 1, "surrogateescape")
                             : NULL;
            if (cs == NULL) {
                Py_XDECREF(c);
                return -1;
            }
            v = PyObject_CallFunctionObjArgs(T_PhpEnum, c, cs, NULL);
            Py_DECREF(c);
            Py_DECREF(cs);
            if (v == NULL)
                return -1;
            pos = eend + 2;
        }
        else if (t1 == ':' && t0 == 'C') {
            int ok;
            Py_ssize_t q, count, brace;
            PyObject *cls = class_at(d, pos, start, &ok, &q);
            if (cls == NULL)
                return -1;
            if (uint_at(d, q, ':', start, &count, &brace) < 0) {
                Py_DECREF(cls);
                return -1;
            }
            Py_ssize_t dpos = brace + 2;
            Py_ssize_t close = dpos + count;
            if (!byte_at(d, brace + 1, '{') || !byte_at(d, close, '}')) {
                Py_DECREF(cls);
                raise_unser("malformed custom object data", d->data, start);
                return -1;
            }
            PyObject *payload =
                PyBytes_FromStringAndSize((const char *)p + dpos, count);
            if (payload == NULL) {
                Py_DECREF(cls);
                return -1;
            }
            v = PyObject_CallFunctionObjArgs(
                ok ? T_PhpSerializable : T_PhpIncompleteSerializable, cls, payload, NULL);
            Py_DECREF(cls);
            Py_DECREF(payload);
            if (v == NULL)
                return -1;
            pos = close + 1;
        }
        else {
            if (pos >= n)
                raise_unser("unexpected end of data", d->data, start);
            else
                raise_unser("unknown or malformed value", d->data, start);
            return -1;
        }

        if (new_slot) {
            if (d->wrap && d->nslots < d->wraplen && d->wrap[d->nslots]) {
                PyObject *ref = PyObject_CallOneArg(T_PhpRef, v);
                Py_DECREF(v);
                if (ref == NULL)
                    return -1;
                v = ref;
            }
            if (push_slot(d, v) < 0) {
                Py_DECREF(v);
                return -1;
            }
            if (d->depth == 0) {
                *out = v;
                *endpos = pos;
                return d->need ? 1 : 0;
            }
        }

        /* deliver v to the open containers, closing the full ones */
        for (;;) {
            Frame *fr = &d->stack[d->depth - 1];
            int r;
            if (fr->list_mode)
                r = PyList_Append(fr->cont, v);
            else
                r = PyDict_SetItem(fr->cont, fr->key, v);
            Py_DECREF(v);
            v = NULL;
            if (r < 0)
                return -1;
            if (--fr->remaining) {
                pos = read_key(d, pos, fr);
                if (pos < 0)
                    return -1;
                break;
            }
            if (!byte_at(d, pos, '}')) {
                raise_unser("expected '}'", d->data, pos);
                return -1;
            }
            pos += 1;
            d->depth--;
            Py_CLEAR(fr->key);
            if (fr->obj) {
                v = fr->obj;
                Py_DECREF(fr->cont);
            }
            else
                v = fr->cont;
            fr->obj = fr->cont = NULL;
            if (d->depth == 0) {
                *out = v;
                *endpos = pos;
                return d->need ? 1 : 0;
            }
        }
    }
}

static PyObject *
sp_loads(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", "allowed_classes", "max_depth", "strict", NULL};
    PyObject *data, *allowed_classes = Py_True;
    Py_ssize_t max_depth = 4096;
    int strict = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$Onp:loads", kwlist, &data,
                                     &allowed_classes, &max_depth, &strict))
        return NULL;
    if (PyByteArray_Check(data) || PyMemoryView_Check(data)) {
        data = PyBytes_FromObject(data);
        if (data == NULL)
            return NULL;
    }
    else if (PyBytes_Check(data))
        Py_INCREF(data);
    else {
        PyErr_Format(PyExc_TypeError, "loads() needs bytes, not %.100s",
                     Py_TYPE(data)->tp_name);
        return NULL;
    }
    PyObject *allowed = PyObject_CallOneArg(F_normalize_allowed, allowed_classes);
    if (allowed == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    if (max_depth < 0) {
        PyErr_SetString(PyExc_ValueError, "max_depth must be >= 0 (0 means unlimited)");
        Py_DECREF(data);
        Py_DECREF(allowed);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t end = 0;
    char *wrap = NULL;
    for (int pass = 0; pass < 2; pass++) {
        Dec d;
        memset(&d, 0, sizeof d);
        d.data = data;
        d.p = (const unsigned char *)PyBytes_AS_STRING(data);
        d.n = PyBytes_GET_SIZE(data);
        d.allowed = allowed == Py_None ? NULL : allowed;
        d.max_depth = max_depth;
        d.wrap = wrap;
        d.wraplen = d.n + 2;
        int r = decode(&d, &result, &end);
        if (r == 1) {
            /* R: to scalars: decode again, wrapping those slots in PhpRef */
            Py_CLEAR(result);
            wrap = PyMem_Calloc((size_t)d.n + 2, 1);
            if (wrap == NULL) {
                PyErr_NoMemory();
                dec_free(&d);
                break;
            }
            PyObject *it = PyObject_GetIter(d.need), *item;
            while (it && (item = PyIter_Next(it)) != NULL) {
                Py_ssize_t i = PyLong_AsSsize_t(item);
                Py_DECREF(item);
                if (i >= 0 && i < d.n + 2)
                    wrap[i] = 1;
            }
            Py_XDECREF(it);
            dec_free(&d);
            if (PyErr_Occurred())
                break;
            continue;
        }
        dec_free(&d);
        break;
    }
    PyMem_Free(wrap);
    Py_DECREF(allowed);
    if (result == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "internal error in loads()");
    if (result != NULL && strict && end != PyBytes_GET_SIZE(data)) {
        Py_CLEAR(result);
        raise_unser("unexpected data after the serialized value", data, end);
    }
    Py_DECREF(data);
    return result;
}

/* --------------------------------------------------------------------------- */
/* dumps                                                                       */

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} Buf;

static int
buf_grow(Buf *b, Py_ssize_t extra)
{
    Py_ssize_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *nb = PyMem_Realloc(b->buf, (size_t)cap);
    if (nb == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->buf = nb;
    b->cap = cap;
    return 0;
}

static inline int
buf_put(Buf *b, const char *s, Py_ssize_t len)
{
    if (buf_grow(b, len) < 0)
        return -1;
    memcpy(b->buf + b->len, s, (size_t)len);
    b->len += len;
    return 0;
}

/* unchecked writes: the caller reserved the room with buf_grow() */
static inline void
put_raw(Buf *b, const char *s, Py_ssize_t len)
{
    memcpy(b->buf + b->len, s, (size_t)len);
    b->len += len;
}

static inline void
put_ll_raw(Buf *b, long long v)
{
    char tmp[24];
    char *e = tmp + sizeof tmp, *s = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--s = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--s = '-';
    put_raw(b, s, e - s);
}

/* s:<len>:"<bytes>"; */
static inline int
put_sbytes(Buf *b, const char *s, Py_ssize_t len)
{
    if (buf_grow(b, len + 32) < 0)
        return -1;
    char *o = b->buf + b->len;
    o[0] = 's';
    o[1] = ':';
    b->len += 2;
    put_ll_raw(b, len);
    o = b->buf + b->len;
    o[0] = ':';
    o[1] = '"';
    memcpy(o + 2, s, (size_t)len);
    o[2 + len] = '"';
    o[3 + len] = ';';
    b->len += len + 4;
    return 0;
}

static inline int
buf_ll(Buf *b, long long v)
{
    char tmp[24];
    char *e = tmp + sizeof tmp, *s = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--s = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--s = '-';
    return buf_put(b, s, e - s);
}

/* X:<len>:"<s>"<tail> */
static int
buf_lenstr(Buf *b, const char *prefix, const char *s, Py_ssize_t len, const char *tail)
{
    if (buf_grow(b, len + 40) < 0)
        return -1;
    if (buf_put(b, prefix, (Py_ssize_t)strlen(prefix)) < 0 || buf_ll(b, len) < 0 ||
        buf_put(b, ":\"", 2) < 0 || buf_put(b, s, len) < 0 ||
        buf_put(b, tail, (Py_ssize_t)strlen(tail)) < 0)
        return -1;
    return 0;
}

static int
put_str(Buf *b, PyObject *v)
{
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(v, &len);
    if (s == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            PyObject *msg = PyUnicode_FromString(
                "str contains lone surrogates (not valid UTF-8); pass bytes");
            if (msg) {
                raise_ser(msg, v);
                Py_DECREF(msg);
            }
        }
        return -1;
    }
    return put_sbytes(b, s, len);
}

/* Shortest round-trip digits without dtoa, for the common case: find the smallest
 * j such that m = round(|x| * 10^j) <= 2^50 and m / 10^j == |x| (one correctly
 * rounded IEEE division of exact operands: exactly what strtod() gives for the
 * decimal m*10^-j). With m <= 2^50 the decimal grid 10^-j is wider than 4 ulps of
 * x, so m is the only j-digit decimal that rounds to x, |x*10^j - m| < 1/4 makes
 * the rounding find it, and a smaller j has no candidate: m's digits are exactly
 * the shortest repr (what _Py_dg_dtoa mode 0 returns). Then PHP's layout
 * (zend_gcvt with precision 17): positional when -3 <= decpt <= 17, else
 * D.DDDE+X. Returns the length written to out, or 0 for "use the slow path". */
static Py_ssize_t
fast_float_text(double x, char *out)
{
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
    return 0;
#endif
    Py_ssize_t o = 0;
    if (x == 0.0) {
        if (signbit(x))
            out[o++] = '-';
        out[o++] = '0';
        return o;
    }
    double a = fabs(x);
    uint64_t m = 0;
    int j;
    for (j = 0; j <= 22; j++) {
        double y = a * pow10tab[j];
        if (!(y <= 1125899906842624.0)) /* 2^50 (also false for NaN) */
            return 0;
        m = (uint64_t)(y + 0.5);
        if (m != 0 && (double)m / pow10tab[j] == a)
            break;
    }
    if (j > 22)
        return 0;
    char dig[24];
    int nd = 0, tz = 0;
    while (m % 10 == 0) {
        m /= 10;
        tz++;
    }
    char tmp[24];
    int t = 0;
    while (m) {
        tmp[t++] = (char)('0' + m % 10);
        m /= 10;
    }
    while (t)
        dig[nd++] = tmp[--t];
    int decpt = nd + tz - j; /* value = 0.DIGITS * 10^decpt */
    if (x < 0)
        out[o++] = '-';
    if (decpt < -3 || decpt > 17) {
        int e = decpt - 1;
        out[o++] = dig[0];
        out[o++] = '.';
        if (nd == 1)
            out[o++] = '0';
        else {
            memcpy(out + o, dig + 1, (size_t)(nd - 1));
            o += nd - 1;
        }
        out[o++] = 'E';
        out[o++] = e > 0 ? '+' : '-';
        if (e < 0)
            e = -e;
        if (e >= 100)
            out[o++] = (char)('0' + e / 100);
        if (e >= 10)
            out[o++] = (char)('0' + e / 10 % 10);
        out[o++] = (char)('0' + e % 10);
    }
    else if (decpt <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -decpt; i++)
            out[o++] = '0';
        memcpy(out + o, dig, (size_t)nd);
        o += nd;
    }
    else if (decpt >= nd) {
        memcpy(out + o, dig, (size_t)nd);
        o += nd;
        for (int i = nd; i < decpt; i++)
            out[o++] = '0';
    }
    else {
        memcpy(out + o, dig, (size_t)decpt);
        o += decpt;
        out[o++] = '.';
        memcpy(out + o, dig + decpt, (size_t)(nd - decpt));
        o += nd - decpt;
    }
    return o;
}

/* PHP's float text, from repr(): same algorithm as _pure.format_float */
static int
put_float(Buf *b, double x)
{
    if (isnan(x))
        return buf_put(b, "d:NAN;", 6);
    if (isinf(x))
        return x > 0 ? buf_put(b, "d:INF;", 6) : buf_put(b, "d:-INF;", 7);
    {
        char out[64];
        Py_ssize_t o = fast_float_text(x, out);
        if (o > 0) {
            if (buf_grow(b, o + 8) < 0)
                return -1;
            put_raw(b, "d:", 2);
            put_raw(b, out, o);
            put_raw(b, ";", 1);
            return 0;
        }
    }
    char *r = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (r == NULL)
        return -1;
    char out[64];
    Py_ssize_t o = 0;
    char *e = strchr(r, 'e');
    size_t rl = strlen(r);
    if (e == NULL) {
        if (rl >= 2 && r[rl - 2] == '.' && r[rl - 1] == '0')
            rl -= 2;
        memcpy(out, r, rl);
        o = (Py_ssize_t)rl;
    }
    else {
        int exp = atoi(e + 1);
        char *mant = r;
        size_t ml = (size_t)(e - r);
        if (exp == 16) {
            int digits = 0;
            for (size_t i = 0; i < ml; i++) {
                if (mant[i] == '-')
                    out[o++] = '-';
                else if (mant[i] != '.') {
                    out[o++] = mant[i];
                    digits++;
                }
            }
            for (; digits < 17; digits++)
                out[o++] = '0';
        }
        else {
            memcpy(out, mant, ml);
            o = (Py_ssize_t)ml;
            if (memchr(mant, '.', ml) == NULL) {
                out[o++] = '.';
                out[o++] = '0';
            }
            o += PyOS_snprintf(out + o, sizeof out - (size_t)o, "E%c%d",
                               exp > 0 ? '+' : '-', exp < 0 ? -exp : exp);
        }
    }
    PyMem_Free(r);
    if (buf_grow(b, o + 3) < 0)
        return -1;
    buf_put(b, "d:", 2);
    buf_put(b, out, o);
    return buf_put(b, ";", 1);
}

static int
int_out_of_range(PyObject *v)
{
    PyObject *msg = PyUnicode_FromFormat("integer %S is outside PHP's 64-bit int range", v);
    if (msg) {
        raise_ser(msg, v);
        Py_DECREF(msg);
    }
    return -1;
}

static int
put_int(Buf *b, PyObject *v)
{
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow)
        return int_out_of_range(v);
    if (x == -1 && PyErr_Occurred())
        return -1;
    if (buf_grow(b, 32) < 0)
        return -1;
    put_raw(b, "i:", 2);
    put_ll_raw(b, x);
    put_raw(b, ";", 1);
    return 0;
}

static int
put_bytes_obj(Buf *b, PyObject *bytes, const char *prefix, const char *tail)
{
    if (prefix[0] == 's' && tail[0] == '"' && tail[1] == ';' && tail[2] == 0)
        return put_sbytes(b, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
    return buf_lenstr(b, prefix, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes), tail);
}

/* a pure-Python helper returning bytes to append (key encodings) */
static int
put_py_bytes(Buf *b, PyObject *func, PyObject *arg)
{
    PyObject *r = PyObject_CallOneArg(func, arg);
    if (r == NULL)
        return -1;
    int res = buf_put(b, PyBytes_AS_STRING(r), PyBytes_GET_SIZE(r));
    Py_DECREF(r);
    return res;
}

static int
raise_type_error(PyObject *v)
{
    PyObject *exc = PyObject_CallOneArg(F_type_error, v);
    if (exc == NULL)
        return -1;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return -1;
}

static PyObject *
class_bytes(PyObject *name)
{
    if (PyUnicode_Check(name)) {
        PyObject *r = PyUnicode_AsEncodedString(name, "utf-8", "surrogateescape");
        if (r != NULL || !PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return r;
        PyErr_Clear();
    }
    return PyObject_CallOneArg(F_class_bytes, name);
}

enum { K_LIST = 0, K_ARRAY = 1, K_OBJ = 2 };

/* Identity map object address -> slot number (what _pure keeps in a dict keyed by
 * id()): open addressing, linear probing, never shrinks, freed after dumps(). */
typedef struct {
    const void **keys;
    Py_ssize_t *vals;
    size_t mask, used;
} PtrMap;

static inline size_t
pm_hash(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p;
    h ^= h >> 4;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20);
}

/* slot of p, or -1 */
static inline Py_ssize_t
pm_get(const PtrMap *m, const void *p)
{
    if (m->keys == NULL)
        return -1;
    for (size_t i = pm_hash(p) & m->mask;; i = (i + 1) & m->mask) {
        if (m->keys[i] == p)
            return m->vals[i];
        if (m->keys[i] == NULL)
            return -1;
    }
}

static int
pm_set(PtrMap *m, const void *p, Py_ssize_t val)
{
    if (m->keys == NULL || (m->used + 1) * 2 > m->mask + 1) {
        size_t ncap = m->keys ? (m->mask + 1) * 2 : 64;
        const void **nk = PyMem_Calloc(ncap, sizeof(void *));
        Py_ssize_t *nv = PyMem_Malloc(ncap * sizeof(Py_ssize_t));
        if (nk == NULL || nv == NULL) {
            PyMem_Free(nk);
            PyMem_Free(nv);
            PyErr_NoMemory();
            return -1;
        }
        if (m->keys) {
            for (size_t j = 0; j <= m->mask; j++) {
                if (m->keys[j] == NULL)
                    continue;
                size_t i = pm_hash(m->keys[j]) & (ncap - 1);
                while (nk[i] != NULL)
                    i = (i + 1) & (ncap - 1);
                nk[i] = m->keys[j];
                nv[i] = m->vals[j];
            }
            PyMem_Free(m->keys);
            PyMem_Free(m->vals);
        }
        m->keys = nk;
        m->vals = nv;
        m->mask = ncap - 1;
    }
    size_t i = pm_hash(p) & m->mask;
    while (m->keys[i] != NULL && m->keys[i] != p)
        i = (i + 1) & m->mask;
    if (m->keys[i] == NULL)
        m->used++;
    m->keys[i] = p;
    m->vals[i] = val;
    return 0;
}

typedef struct {
    PyObject *c; /* owned: list/tuple or dict being walked */
    Py_ssize_t i; /* index (sequences) or PyDict_Next position */
    int kind;
} DFrame;

static int
needs_normalising(PyObject *dict)
{
    Py_ssize_t i = 0;
    PyObject *k, *val;
    while (PyDict_Next(dict, &i, &k, &val)) {
        if (PyUnicode_CheckExact(k)) {
            if (PyUnicode_GET_LENGTH(k) > 0) {
                Py_UCS4 c = PyUnicode_READ_CHAR(k, 0);
                if (c == '-' || (c >= '0' && c <= '9'))
                    return 1;
            }
        }
        else if (!PyLong_CheckExact(k))
            return 1;
    }
    return 0;
}

static PyObject *
sp_dumps(PyObject *self, PyObject *value)
{
    Buf b = {NULL, 0, 0};
    PtrMap pm = {NULL, NULL, 0, 0};
    PyObject *seen = NULL; /* PhpEnum (class, case) -> slot, created on demand */
    DFrame *stack = NULL;
    Py_ssize_t depth = 0, cap = 0;
    Py_ssize_t n = 0;
    int via_ref = 0;
    PyObject *v = Py_NewRef(value); /* owned */
    PyObject *result = NULL;
    if (buf_grow(&b, 256) < 0)
        goto fail;

#define SEEN_GET(ptr, out) ((out) = pm_get(&pm, (ptr)))
#define SEEN_SET(ptr)                                                        \
    do {                                                                     \
        if (pm_set(&pm, (ptr), n) < 0)                                       \
            goto fail;                                                       \
    } while (0)
#define PUSH(obj, k)                                                         \
    do {                                                                     \
        if (depth == cap) {                                                  \
            Py_ssize_t nc_ = cap ? cap * 2 : 16;                             \
            DFrame *ns_ = PyMem_Realloc(stack, (size_t)nc_ * sizeof(DFrame)); \
            if (ns_ == NULL) {                                               \
                PyErr_NoMemory();                                            \
                Py_DECREF(obj);                                              \
                goto fail;                                                   \
            }                                                                \
            stack = ns_;                                                     \
            cap = nc_;                                                       \
        }                                                                    \
        stack[depth].c = (obj);                                              \
        stack[depth].i = 0;                                                  \
        stack[depth].kind = (k);                                             \
        depth++;                                                             \
    } while (0)
/* a repeated container/object: back-reference; "plain" is 'r' or 'R' */
#define BACKREF(slot, plain)                                                 \
    do {                                                                     \
        char kind_ = via_ref ? 'R' : (plain);                                \
        if (buf_grow(&b, 32) < 0)                                            \
            goto fail;                                                       \
        put_raw(&b, kind_ == 'R' ? "R:" : "r:", 2);                          \
        put_ll_raw(&b, (slot));                                              \
        put_raw(&b, ";", 1);                                                 \
        if (kind_ == 'R')                                                    \
            n -= 1;                                                          \
    } while (0)

    for (;;) {
        /* ---- emit one value ---- */
        n += 1;
        PyTypeObject *t = Py_TYPE(v);
        if (t == &PyUnicode_Type) {
            if (put_str(&b, v) < 0)
                goto fail;
        }
        else if (t == &PyLong_Type) {
            if (put_int(&b, v) < 0)
                goto fail;
        }
        else if (t == &PyList_Type || t == &PyTuple_Type || t == &PyDict_Type) {
            Py_ssize_t s;
            SEEN_GET(v, s);
            if (s >= 0) {
                if (buf_grow(&b, 32) < 0)
                    goto fail;
                put_raw(&b, "R:", 2);
                put_ll_raw(&b, s);
                put_raw(&b, ";", 1);
                n -= 1;
            }
            else {
                SEEN_SET(v);
                Py_ssize_t len;
                int kind = K_LIST;
                PyObject *c = v;
                Py_INCREF(c);
                if (t == &PyDict_Type) {
                    kind = K_ARRAY;
                    if (PyDict_GET_SIZE(v) && needs_normalising(v)) {
                        PyObject *norm = PyDict_New();
                        Py_ssize_t i = 0;
                        PyObject *k, *val;
                        if (norm == NULL) {
                            Py_DECREF(c);
                            goto fail;
                        }
                        while (PyDict_Next(v, &i, &k, &val)) {
                            PyObject *nk = PyObject_CallOneArg(F_array_key, k);
                            if (nk == NULL || PyDict_SetItem(norm, nk, val) < 0) {
                                Py_XDECREF(nk);
                                Py_DECREF(norm);
                                Py_DECREF(c);
                                goto fail;
                            }
                            Py_DECREF(nk);
                        }
                        Py_SETREF(c, norm);
                    }
                    len = PyDict_GET_SIZE(c);
                }
                else
                    len = Py_SIZE(c);
                if (len) {
                    if (buf_put(&b, "a:", 2) < 0 || buf_ll(&b, len) < 0 ||
                        buf_put(&b, ":{", 2) < 0) {
                        Py_DECREF(c);
                        goto fail;
                    }
                    PUSH(c, kind);
                }
                else {
                    Py_DECREF(c);
                    if (buf_put(&b, "a:0:{}", 6) < 0)
                        goto fail;
                }
            }
        }
        else if (t == &PyFloat_Type) {
            if (put_float(&b, PyFloat_AS_DOUBLE(v)) < 0)
                goto fail;
        }
        else if (v == Py_None) {
            if (buf_put(&b, "N;", 2) < 0)
                goto fail;
        }
        else if (t == &PyBool_Type) {
            if (buf_put(&b, v == Py_True ? "b:1;" : "b:0;", 4) < 0)
                goto fail;
        }
        else if (t == &PyBytes_Type) {
            if (put_bytes_obj(&b, v, "s:", "\";") < 0)
                goto fail;
        }
        else if (PyObject_TypeCheck(v, (PyTypeObject *)T_PhpObject)) {
            Py_ssize_t s;
            SEEN_GET(v, s);
            if (s >= 0) {
                BACKREF(s, 'r');
            }
            else {
                SEEN_SET(v);
                PyObject *cn = PyObject_GetAttr(v, S_class_name);
                PyObject *cls = cn ? class_bytes(cn) : NULL;
                Py_XDECREF(cn);
                if (cls == NULL)
                    goto fail;
                PyObject *props = PyObject_GetAttr(v, S_properties);
                if (props == NULL) {
                    Py_DECREF(cls);
                    goto fail;
                }
                if (!PyDict_Check(props)) {
                    /* mirror _pure: any mapping with .items() */
                    PyObject *copy = PyDict_New();
                    if (copy == NULL || PyDict_Update(copy, props) < 0) {
                        Py_XDECREF(copy);
                        Py_DECREF(props);
                        Py_DECREF(cls);
                        goto fail;
                    }
                    Py_SETREF(props, copy);
                }
                Py_ssize_t np = PyDict_GET_SIZE(props);
                int r = buf_lenstr(&b, "O:", PyBytes_AS_STRING(cls), PyBytes_GET_SIZE(cls), "\":");
                Py_DECREF(cls);
                if (r < 0 || buf_ll(&b, np) < 0) {
                    Py_DECREF(props);
                    goto fail;
                }
                if (np) {
                    if (buf_put(&b, ":{", 2) < 0) {
                        Py_DECREF(props);
                        goto fail;
                    }
                    PUSH(props, K_OBJ);
                }
                else {
                    Py_DECREF(props);
                    if (buf_put(&b, ":{}", 3) < 0)
                        goto fail;
                }
            }
        }
        else if (PyObject_TypeCheck(v, (PyTypeObject *)T_PhpRef)) {
            PyObject *inner = PyObject_GetAttr(v, S_value);
            if (inner == NULL)
                goto fail;
            if (PyList_Check(inner) || PyTuple_Check(inner) || PyDict_Check(inner) ||
                PyObject_TypeCheck(inner, (PyTypeObject *)T_PhpObject) ||
                PyObject_TypeCheck(inner, (PyTypeObject *)T_PhpEnum) ||
                PyObject_TypeCheck(inner, (PyTypeObject *)T_PhpSerializable)) {
                n -= 1;
                Py_SETREF(v, inner);
                via_ref = 1;
                continue;
            }
            Py_ssize_t s;
            n -= 1;
            SEEN_GET(v, s);
            if (s >= 0) {
                Py_DECREF(inner);
                if (buf_grow(&b, 32) < 0)
                    goto fail;
                put_raw(&b, "R:", 2);
                put_ll_raw(&b, s);
                put_raw(&b, ";", 1);
            }
            else {
                if (pm_set(&pm, v, n + 1) < 0) {
                    Py_DECREF(inner);
                    goto fail;
                }
                Py_SETREF(v, inner);
                via_ref = 0;
                continue;
            }
        }
        else if (PyObject_TypeCheck(v, (PyTypeObject *)T_PhpEnum)) {
            PyObject *cn = PyObject_GetAttr(v, S_class_name);
            PyObject *cs = cn ? PyObject_GetAttr(v, S_case) : NULL;
            if (cs != NULL && seen == NULL && (seen = PyDict_New()) == NULL) {
                Py_DECREF(cn);
                Py_DECREF(cs);
                goto fail;
            }
            PyObject *key = cs ? PyTuple_Pack(3, T_PhpEnum, cn, cs) : NULL, *s;
            if (key == NULL) {
                Py_XDECREF(cn);
                Py_XDECREF(cs);
                goto fail;
            }
            s = PyDict_GetItemWithError(seen, key);
            if (s == NULL && PyErr_Occurred()) {
                Py_DECREF(cn);
                Py_DECREF(cs);
                Py_DECREF(key);
                goto fail;
            }
            if (s != NULL) {
                Py_DECREF(cn);
                Py_DECREF(cs);
                Py_DECREF(key);
                BACKREF(PyLong_AsSsize_t(s), 'r');
            }
            else {
                PyObject *nn = PyLong_FromSsize_t(n);
                int r = nn ? PyDict_SetItem(seen, key, nn) : -1;
                Py_XDECREF(nn);
                Py_DECREF(key);
                PyObject *cb = r < 0 ? NULL : class_bytes(cn);
                PyObject *sb = cb ? class_bytes(cs) : NULL;
                Py_DECREF(cn);
                Py_DECREF(cs);
                if (sb == NULL) {
                    Py_XDECREF(cb);
                    goto fail;
                }
                Py_ssize_t l1 = PyBytes_GET_SIZE(cb), l2 = PyBytes_GET_SIZE(sb);
                r = buf_put(&b, "E:", 2) < 0 || buf_ll(&b, l1 + 1 + l2) < 0 ||
                    buf_put(&b, ":\"", 2) < 0 ||
                    buf_put(&b, PyBytes_AS_STRING(cb), l1) < 0 || buf_put(&b, ":", 1) < 0 ||
                    buf_put(&b, PyBytes_AS_STRING(sb), l2) < 0 || buf_put(&b, "\";", 2) < 0;
                Py_DECREF(cb);
                Py_DECREF(sb);
                if (r)
                    goto fail;
            }
        }
        else if (PyObject_TypeCheck(v, (PyTypeObject *)T_PhpSerializable)) {
            Py_ssize_t s;
            SEEN_GET(v, s);
            if (s >= 0) {
                BACKREF(s, 'r');
            }
            else {
                SEEN_SET(v);
                PyObject *cn = PyObject_GetAttr(v, S_class_name);
                PyObject *cls = cn ? class_bytes(cn) : NULL;
                Py_XDECREF(cn);
                if (cls == NULL)
                    goto fail;
                PyObject *raw = PyObject_GetAttr(v, S_data);
                PyObject *data = raw ? PyObject_CallOneArg((PyObject *)&PyBytes_Type, raw) : NULL;
                Py_XDECREF(raw);
                if (data == NULL) {
                    Py_DECREF(cls);
                    goto fail;
                }
                int r = buf_lenstr(&b, "C:", PyBytes_AS_STRING(cls), PyBytes_GET_SIZE(cls), "\":") < 0 ||
                        buf_ll(&b, PyBytes_GET_SIZE(data)) < 0 || buf_put(&b, ":{", 2) < 0 ||
                        buf_put(&b, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data)) < 0 ||
                        buf_put(&b, "}", 1) < 0;
                Py_DECREF(cls);
                Py_DECREF(data);
                if (r)
                    goto fail;
            }
        }
        else {
            /* subclasses and rare types: same order of checks as _pure */
            static PyObject *enum_cls = NULL;
            if (enum_cls == NULL) {
                PyObject *mod = PyImport_ImportModule("enum");
                if (mod == NULL)
                    goto fail;
                enum_cls = PyObject_GetAttrString(mod, "Enum");
                Py_DECREF(mod);
                if (enum_cls == NULL)
                    goto fail;
            }
            int is_enum = PyObject_IsInstance(v, enum_cls);
            if (is_enum < 0)
                goto fail;
            if (is_enum) {
                raise_type_error(v);
                goto fail;
            }
            if (PyBool_Check(v)) {
                if (buf_put(&b, v == Py_True ? "b:1;" : "b:0;", 4) < 0)
                    goto fail;
            }
            else if (PyLong_Check(v)) {
                PyObject *iv = PyNumber_Long(v);
                if (iv == NULL)
                    goto fail;
                int r = put_int(&b, iv);
                Py_DECREF(iv);
                if (r < 0)
                    goto fail;
            }
            else if (PyFloat_Check(v)) {
                double x = PyFloat_AsDouble(v);
                if (x == -1.0 && PyErr_Occurred())
                    goto fail;
                if (put_float(&b, x) < 0)
                    goto fail;
            }
            else if (PyUnicode_Check(v)) {
                PyObject *sv = PyObject_Str(v);
                if (sv == NULL)
                    goto fail;
                Py_SETREF(v, sv);
                n -= 1;
                continue;
            }
            else if (PyByteArray_Check(v) || PyMemoryView_Check(v)) {
                PyObject *bv = PyBytes_FromObject(v);
                if (bv == NULL)
                    goto fail;
                int r = put_bytes_obj(&b, bv, "s:", "\";");
                Py_DECREF(bv);
                if (r < 0)
                    goto fail;
            }
            else if (PyList_Check(v) || PyTuple_Check(v)) {
                PyObject *c = PyList_Check(v) ? PySequence_List(v) : PySequence_Tuple(v);
                if (c == NULL)
                    goto fail;
                Py_SETREF(v, c);
                n -= 1;
                continue;
            }
            else if (PyDict_Check(v)) {
                PyObject *c = PyDict_New();
                if (c == NULL || PyDict_Update(c, v) < 0) {
                    Py_XDECREF(c);
                    goto fail;
                }
                Py_SETREF(v, c);
                n -= 1;
                continue;
            }
            else {
                raise_type_error(v);
                goto fail;
            }
        }
        via_ref = 0;

        /* ---- find the next value ---- */
        for (;;) {
            if (depth == 0) {
                result = PyBytes_FromStringAndSize(b.buf, b.len);
                goto done;
            }
            DFrame *f = &stack[depth - 1];
            PyObject *k, *item;
            if (f->kind == K_LIST) {
                if (f->i >= Py_SIZE(f->c)) {
                    if (buf_put(&b, "}", 1) < 0)
                        goto fail;
                    Py_DECREF(f->c);
                    depth--;
                    continue;
                }
                item = PyList_Check(f->c) ? PyList_GET_ITEM(f->c, f->i)
                                          : PyTuple_GET_ITEM(f->c, f->i);
                if (buf_grow(&b, 32) < 0)
                    goto fail;
                put_raw(&b, "i:", 2);
                put_ll_raw(&b, f->i);
                put_raw(&b, ";", 1);
                f->i++;
            }
            else {
                if (!PyDict_Next(f->c, &f->i, &k, &item)) {
                    if (buf_put(&b, "}", 1) < 0)
                        goto fail;
                    Py_DECREF(f->c);
                    depth--;
                    continue;
                }
                if (PyLong_CheckExact(k)) {
                    if (put_int(&b, k) < 0) {
                        if (f->kind == K_ARRAY && PyErr_ExceptionMatches(E_Serialize)) {
                            PyErr_Clear();
                            PyObject *msg = PyUnicode_FromFormat(
                                "array key %S is outside PHP's 64-bit int range", k);
                            if (msg) {
                                raise_ser(msg, k);
                                Py_DECREF(msg);
                            }
                        }
                        else if (PyErr_ExceptionMatches(E_Serialize)) {
                            PyErr_Clear();
                            PyObject *msg = PyUnicode_FromFormat(
                                "property key %S is outside PHP's int range", k);
                            if (msg) {
                                raise_ser(msg, k);
                                Py_DECREF(msg);
                            }
                        }
                        goto fail;
                    }
                }
                else if (PyUnicode_CheckExact(k)) {
                    Py_ssize_t len;
                    const char *s = PyUnicode_AsUTF8AndSize(k, &len);
                    if (s == NULL) {
                        PyErr_Clear();
                        if (put_py_bytes(&b, f->kind == K_ARRAY ? F_array_key : F_prop_key,
                                         k) < 0)
                            goto fail;
                    }
                    else if (put_sbytes(&b, s, len) < 0)
                        goto fail;
                }
                else if (PyBytes_CheckExact(k)) {
                    if (put_bytes_obj(&b, k, "s:", "\";") < 0)
                        goto fail;
                }
                else if (put_py_bytes(&b, F_prop_key, k) < 0)
                    goto fail;
            }
            Py_SETREF(v, Py_NewRef(item));
            break;
        }
    }

fail:
    result = NULL;
done:
    Py_XDECREF(v);
    for (Py_ssize_t i = 0; i < depth; i++)
        Py_DECREF(stack[i].c);
    PyMem_Free(stack);
    PyMem_Free(b.buf);
    PyMem_Free(pm.keys);
    PyMem_Free(pm.vals);
    Py_XDECREF(seen);
    return result;
#undef SEEN_GET
#undef SEEN_SET
#undef PUSH
#undef BACKREF
}

/* --------------------------------------------------------------------------- */
/* dumps_json_escaped: serialize() output as the inside of a JSON string       */

/* Bytes each ASCII byte takes inside a JSON string, the way PHP's
 * json_encode($s, JSON_UNESCAPED_UNICODE) writes it (and _pure.dumps_json_escaped):
 * '"' '\\' '/' -> 2, \b \t \n \f \r -> 2, other control chars -> \u00xx (6). */
static unsigned char json_esc_len[128];

static void
init_json_esc(void)
{
    for (int c = 0; c < 128; c++)
        json_esc_len[c] = 1;
    for (int c = 0; c < 0x20; c++)
        json_esc_len[c] = 6;
    json_esc_len['\b'] = json_esc_len['\t'] = json_esc_len['\n'] = 2;
    json_esc_len['\f'] = json_esc_len['\r'] = 2;
    json_esc_len['"'] = json_esc_len['\\'] = json_esc_len['/'] = 2;
}

/* Length of the valid (strict, like Python's "utf-8" codec) UTF-8 sequence at p
 * (lead byte >= 0x80), or 0 when it is invalid. */
static inline Py_ssize_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (end - p >= 2 && (p[1] & 0xC0) == 0x80)
            return 2;
        return 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && p[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && p[1] >= 0x90)
            return 0; /* > U+10FFFF */
        return 4;
    }
    return 0;
}

static PyObject *
sp_dumps_json_escaped(PyObject *self, PyObject *value)
{
    static const char hex[] = "0123456789abcdef";
    PyObject *blob = sp_dumps(self, value);
    if (blob == NULL)
        return NULL;
    const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(blob);
    const unsigned char *end = s + PyBytes_GET_SIZE(blob);
    /* pass 1: validate and size */
    Py_ssize_t size = 0;
    for (const unsigned char *p = s; p < end;) {
        if (*p < 0x80) {
            size += json_esc_len[*p++];
            continue;
        }
        Py_ssize_t k = utf8_seq(p, end);
        if (k == 0) {
            Py_DECREF(blob);
            PyObject *msg = PyUnicode_FromFormat(
                "json_encode: the serialized value is not valid UTF-8 (byte %zd; "
                "PHP: 'Malformed UTF-8 characters')",
                (Py_ssize_t)(p - s));
            if (msg != NULL) {
                raise_ser(msg, value);
                Py_DECREF(msg);
            }
            return NULL;
        }
        /* U+2028 / U+2029 (E2 80 A8/A9) -> \u2028 / \u2029 */
        size += (k == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] | 1) == 0xA9) ? 6 : k;
        p += k;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) {
        Py_DECREF(blob);
        return NULL;
    }
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    for (const unsigned char *p = s; p < end; p++) {
        unsigned char c = *p;
        if (c >= 0x80) {
            if (c == 0xE2 && end - p >= 3 && p[1] == 0x80 && (p[2] | 1) == 0xA9) {
                memcpy(o, p[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                o += 6;
                p += 2;
            }
            else
                *o++ = c;
            continue;
        }
        switch (json_esc_len[c]) {
        case 1:
            *o++ = c;
            break;
        case 2:
            *o++ = '\\';
            switch (c) {
            case '\b': *o++ = 'b'; break;
            case '\t': *o++ = 't'; break;
            case '\n': *o++ = 'n'; break;
            case '\f': *o++ = 'f'; break;
            case '\r': *o++ = 'r'; break;
            default: *o++ = c; /* " \ / */
            }
            break;
        default:
            memcpy(o, "\\u00", 4);
            o[4] = (unsigned char)hex[c >> 4];
            o[5] = (unsigned char)hex[c & 15];
            o += 6;
        }
    }
    Py_DECREF(blob);
    return out;
}

/* --------------------------------------------------------------------------- */
/* build_payload_rows: queue payloads of PhpJob template rows (see _pure)      */

static PyObject *T_RowPlain[8];

static int
row_plain(PyObject *v)
{
    PyTypeObject *t = Py_TYPE(v);
    for (int i = 0; i < 8; i++)
        if ((PyObject *)t == T_RowPlain[i])
            return 1;
    return 0;
}

/* Does s[0:len] contain "r:", "R:" or "\r:"?  (After JSON escaping, exactly the
 * serialized values whose escaped form contains "r:" or "R:", as _pure checks.) */
static int
has_ref_marker(const unsigned char *s, Py_ssize_t len)
{
    for (Py_ssize_t i = 0; i + 1 < len; i++)
        if (s[i + 1] == ':' && (s[i] == 'r' || s[i] == 'R' || s[i] == '\r'))
            return 1;
    return 0;
}

/* JSON-escaped size of s[0:len] (as sp_dumps_json_escaped), or -1 if not UTF-8 */
static Py_ssize_t
json_escaped_size(const unsigned char *s, Py_ssize_t len)
{
    const unsigned char *end = s + len;
    Py_ssize_t size = len;
    for (const unsigned char *p = s; p < end;) {
        unsigned char c = *p;
        if (c < 0x80) {
            size += json_esc_len[c] - 1;
            p++;
            continue;
        }
        Py_ssize_t k = utf8_seq(p, end);
        if (k == 0)
            return -1;
        if (k == 3 && c == 0xE2 && p[1] == 0x80 && (p[2] | 1) == 0xA9)
            size += 3;
        p += k;
    }
    return size;
}

/* writes the escaped form of valid UTF-8 s[0:len]; returns the end. Runs of bytes
 * that stay as they are are copied in one go. */
static unsigned char *
json_escape_into(unsigned char *o, const unsigned char *s, Py_ssize_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *end = s + len;
    const unsigned char *p = s;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && (*p >= 0x80 ? *p != 0xE2 : json_esc_len[*p] == 1))
            p++;
        if (p > run) {
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
            continue;
        }
        unsigned char c = *p;
        if (c == 0xE2) {
            if (end - p >= 3 && p[1] == 0x80 && (p[2] | 1) == 0xA9) {
                memcpy(o, p[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                o += 6;
                p += 3;
            }
            else
                *o++ = *p++;
            continue;
        }
        p++;
        if (json_esc_len[c] == 2) {
            *o++ = '\\';
            switch (c) {
            case '\b': *o++ = 'b'; break;
            case '\t': *o++ = 't'; break;
            case '\n': *o++ = 'n'; break;
            case '\f': *o++ = 'f'; break;
            case '\r': *o++ = 'r'; break;
            default: *o++ = c; /* " \ / */
            }
        }
        else {
            memcpy(o, "\\u00", 4);
            o[4] = (unsigned char)hex[c >> 4];
            o[5] = (unsigned char)hex[c & 15];
            o += 6;
        }
    }
    return o;
}

/* version-4 UUID text (36 bytes) of 16 random bytes, like _pure._uuid4_text */
static void
uuid4_into(unsigned char *o, const unsigned char *r)
{
    static const char hex[] = "0123456789abcdef";
    char h[32];
    for (int i = 0; i < 16; i++) {
        h[2 * i] = hex[r[i] >> 4];
        h[2 * i + 1] = hex[r[i] & 15];
    }
    h[12] = '4';
    h[16] = "89ab"[(r[8] >> 4) & 3];
    memcpy(o, h, 8);
    o[8] = '-';
    memcpy(o + 9, h + 8, 4);
    o[13] = '-';
    memcpy(o + 14, h + 12, 4);
    o[18] = '-';
    memcpy(o + 19, h + 16, 4);
    o[23] = '-';
    memcpy(o + 24, h + 20, 12);
}

/* One row: its payload, Py_None for the per-job path, NULL on error. */
static PyObject *
build_one_row(PyObject *row, PyObject *const *piece, long long count, PyObject *spec,
              PyObject *names, const unsigned char *uuid_r, const char *id,
              int omit, PyObject *convert, PyObject *identical, PyObject *prop_type,
              PyObject *no_default)
{
    if (!PyDict_CheckExact(row))
        Py_RETURN_NONE;
    {
        PyObject *k;
        Py_ssize_t pos = 0;
        while (PyDict_Next(row, &pos, &k, NULL)) {
            int in = PySet_Contains(names, k);
            if (in < 0)
                return NULL;
            if (!in)
                Py_RETURN_NONE;
        }
    }
    PyObject *own = PyDict_New();
    if (own == NULL)
        return NULL;
    Py_ssize_t ns = PyTuple_GET_SIZE(spec);
    for (Py_ssize_t j = 0; j < ns; j++) {
        PyObject *item = PyTuple_GET_ITEM(spec, j);
        PyObject *name = PyTuple_GET_ITEM(item, 0), *raw = PyTuple_GET_ITEM(item, 1);
        PyObject *dflt = PyTuple_GET_ITEM(item, 2), *value = PyTuple_GET_ITEM(item, 3);
        PyObject *got = PyDict_GetItemWithError(row, name); /* borrowed */
        if (got != NULL) {
            int is_prop = PyObject_IsInstance(got, prop_type);
            if (is_prop < 0)
                goto fail;
            if (is_prop) {
                Py_DECREF(own);
                Py_RETURN_NONE;
            }
            value = got;
        }
        else if (PyErr_Occurred())
            goto fail;
        if (omit && dflt != no_default) {
            PyObject *r = PyObject_CallFunctionObjArgs(identical, value, dflt, NULL);
            if (r == NULL)
                goto fail;
            int same = PyObject_IsTrue(r);
            Py_DECREF(r);
            if (same < 0)
                goto fail;
            if (same)
                continue;
        }
        int rc;
        if (row_plain(value))
            rc = PyDict_SetItem(own, raw, value);
        else {
            PyObject *conv = PyObject_CallOneArg(convert, value);
            if (conv == NULL)
                goto fail;
            rc = PyDict_SetItem(own, raw, conv);
            Py_DECREF(conv);
        }
        if (rc < 0)
            goto fail;
    }
    PyObject *blob = sp_dumps(NULL, own);
    Py_DECREF(own);
    own = NULL;
    if (blob == NULL) {
        if (PyErr_ExceptionMatches(E_Serialize)) {
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        return NULL;
    }
    const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(blob);
    Py_ssize_t len = PyBytes_GET_SIZE(blob);
    /* a:N:{...} */
    Py_ssize_t brace = 2;
    long long n_items = 0;
    while (brace < len && s[brace] >= '0' && s[brace] <= '9')
        n_items = n_items * 10 + (s[brace++] - '0');
    if (len < 6 || s[0] != 'a' || s[1] != ':' || brace + 1 >= len || s[brace] != ':' ||
        s[brace + 1] != '{' || s[len - 1] != '}') {
        Py_DECREF(blob);
        PyErr_SetString(PyExc_RuntimeError, "build_payload_rows: unexpected dumps()");
        return NULL;
    }
    brace += 1;
    const unsigned char *inner = s + brace + 1;
    Py_ssize_t inner_len = len - brace - 2;
    Py_ssize_t esc = json_escaped_size(inner, inner_len);
    if (esc < 0 || has_ref_marker(s, len)) {
        Py_DECREF(blob);
        Py_RETURN_NONE;
    }
    char num[24];
    int num_len = snprintf(num, sizeof num, "%lld", count + n_items);
    Py_ssize_t total = PyBytes_GET_SIZE(piece[0]) + 36 + PyBytes_GET_SIZE(piece[1]) +
                       num_len + PyBytes_GET_SIZE(piece[2]) + esc +
                       PyBytes_GET_SIZE(piece[3]) + 32 + PyBytes_GET_SIZE(piece[4]);
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) {
        Py_DECREF(blob);
        return NULL;
    }
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
#define PUT_PIECE(k)                                                         \
    do {                                                                     \
        memcpy(o, PyBytes_AS_STRING(piece[k]), (size_t)PyBytes_GET_SIZE(piece[k])); \
        o += PyBytes_GET_SIZE(piece[k]);                                     \
    } while (0)
    PUT_PIECE(0);
    uuid4_into(o, uuid_r);
    o += 36;
    PUT_PIECE(1);
    memcpy(o, num, (size_t)num_len);
    o += num_len;
    PUT_PIECE(2);
    o = json_escape_into(o, inner, inner_len);
    PUT_PIECE(3);
    memcpy(o, id, 32);
    o += 32;
    PUT_PIECE(4);
#undef PUT_PIECE
    Py_DECREF(blob);
    return out;
fail:
    Py_XDECREF(own);
    return NULL;
}

static PyObject *
sp_build_payload_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "build_payload_rows() takes 12 arguments");
        return NULL;
    }
    PyObject *pieces = args[0], *spec = args[2], *names = args[3], *rows = args[4];
    PyObject *uuid_random = args[5], *ids = args[6];
    PyObject *convert = args[8], *identical = args[9], *prop_type = args[10];
    PyObject *no_default = args[11];
    if (!PyTuple_Check(pieces) || PyTuple_GET_SIZE(pieces) != 5) {
        PyErr_SetString(PyExc_TypeError, "build_payload_rows: pieces: 5 bytes");
        return NULL;
    }
    for (int k = 0; k < 5; k++)
        if (!PyBytes_Check(PyTuple_GET_ITEM(pieces, k))) {
            PyErr_SetString(PyExc_TypeError, "build_payload_rows: pieces: 5 bytes");
            return NULL;
        }
    long long count = PyLong_AsLongLong(args[1]);
    if (count == -1 && PyErr_Occurred())
        return NULL;
    if (!PyTuple_Check(spec)) {
        PyErr_SetString(PyExc_TypeError, "build_payload_rows: spec: a tuple");
        return NULL;
    }
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(spec); j++) {
        PyObject *it = PyTuple_GET_ITEM(spec, j);
        if (!PyTuple_Check(it) || PyTuple_GET_SIZE(it) != 4) {
            PyErr_SetString(PyExc_TypeError,
                            "build_payload_rows: spec: (name, raw, default, value)");
            return NULL;
        }
    }
    if (!PyAnySet_Check(names)) {
        PyErr_SetString(PyExc_TypeError, "build_payload_rows: names: a frozenset");
        return NULL;
    }
    if (!PyList_Check(rows) || !PyBytes_Check(uuid_random) || !PyBytes_Check(ids)) {
        PyErr_SetString(PyExc_TypeError,
                        "build_payload_rows: rows: a list, uuid_random/ids: bytes");
        return NULL;
    }
    int omit = PyObject_IsTrue(args[7]);
    if (omit < 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(rows);
    if (PyBytes_GET_SIZE(uuid_random) != 16 * n || PyBytes_GET_SIZE(ids) != 32 * n) {
        PyErr_SetString(PyExc_ValueError,
                        "build_payload_rows: 16 random bytes and 32 id bytes per row");
        return NULL;
    }
    PyObject *piece[5];
    for (int k = 0; k < 5; k++)
        piece[k] = PyTuple_GET_ITEM(pieces, k);
    Py_INCREF(rows);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        Py_DECREF(rows);
        return NULL;
    }
    const unsigned char *ur = (const unsigned char *)PyBytes_AS_STRING(uuid_random);
    const char *idp = PyBytes_AS_STRING(ids);
    for (Py_ssize_t i = 0; i < n && i < PyList_GET_SIZE(rows); i++) {
        PyObject *row = Py_NewRef(PyList_GET_ITEM(rows, i));
        PyObject *p = build_one_row(row, piece, count, spec, names, ur + 16 * i,
                                    idp + 32 * i, omit, convert, identical, prop_type,
                                    no_default);
        Py_DECREF(row);
        if (p == NULL) {
            Py_DECREF(out);
            Py_DECREF(rows);
            return NULL;
        }
        PyList_SET_ITEM(out, i, p);
    }
    Py_DECREF(rows);
    if (PyList_GET_SIZE(rows) != n) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_RuntimeError, "build_payload_rows: rows changed size");
        return NULL;
    }
    return out;
}

/* --------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"dumps", (PyCFunction)sp_dumps, METH_O,
     "dumps(value) -> bytes\n\nSerialize like PHP 8's serialize() (C accelerator)."},
    {"loads", (PyCFunction)(void (*)(void))sp_loads, METH_VARARGS | METH_KEYWORDS,
     "loads(data, *, allowed_classes=True, max_depth=4096, strict=False)\n\n"
     "Unserialize PHP serialize() bytes (C accelerator)."},
    {"dumps_json_escaped", (PyCFunction)sp_dumps_json_escaped, METH_O,
     "dumps_json_escaped(value) -> bytes\n\n"
     "dumps(value) escaped as the inside of a JSON string, the way PHP's\n"
     "json_encode(JSON_UNESCAPED_UNICODE) escapes it (C accelerator)."},
    {"build_payload_rows", (PyCFunction)(void (*)(void))sp_build_payload_rows,
     METH_FASTCALL,
     "build_payload_rows(pieces, count, spec, names, rows, uuid_random, ids,\n"
     "                   omit_defaults, convert, identical, prop_type, no_default)\n\n"
     "Queue payloads of PhpJob template rows (C accelerator; see _pure)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "ninja_redis.php._speedups",
    "C accelerator for ninja_redis.php (same behaviour as _pure).", -1, methods,
};

static int
grab(PyObject *mod, const char *name, PyObject **out)
{
    *out = PyObject_GetAttrString(mod, name);
    return *out ? 0 : -1;
}

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *types = PyImport_ImportModule("ninja_redis.php._types");
    PyObject *pure = types ? PyImport_ImportModule("ninja_redis.php._pure") : NULL;
    PyObject *excs = pure ? PyImport_ImportModule("ninja_redis.exceptions") : NULL;
    int bad = excs == NULL ||
              grab(types, "PhpObject", &T_PhpObject) ||
              grab(types, "PhpIncompleteClass", &T_PhpIncompleteClass) ||
              grab(types, "PhpEnum", &T_PhpEnum) ||
              grab(types, "PhpSerializable", &T_PhpSerializable) ||
              grab(types, "PhpIncompleteSerializable", &T_PhpIncompleteSerializable) ||
              grab(types, "PhpRef", &T_PhpRef) ||
              grab(excs, "SerializeError", &E_Serialize) ||
              grab(excs, "UnserializeError", &E_Unserialize) ||
              grab(pure, "_array_key", &F_array_key) ||
              grab(pure, "_prop_key", &F_prop_key) ||
              grab(pure, "_type_error", &F_type_error) ||
              grab(pure, "_class_bytes", &F_class_bytes) ||
              grab(pure, "normalize_allowed_classes", &F_normalize_allowed);
    Py_XDECREF(types);
    Py_XDECREF(pure);
    Py_XDECREF(excs);
    if (bad)
        return NULL;
    S_class_name = PyUnicode_InternFromString("class_name");
    S_properties = PyUnicode_InternFromString("properties");
    S_case = PyUnicode_InternFromString("case");
    S_data = PyUnicode_InternFromString("data");
    S_value = PyUnicode_InternFromString("value");
    (void)S_surrogateescape_dummy;
    if (!S_class_name || !S_properties || !S_case || !S_data || !S_value)
        return NULL;
    init_json_esc();
    {
        /* exact value types build_payload_rows passes to dumps() unconverted */
        PyObject *plain[8] = {(PyObject *)&PyUnicode_Type, (PyObject *)&PyLong_Type,
                              (PyObject *)&PyFloat_Type, (PyObject *)&PyBool_Type,
                              (PyObject *)Py_TYPE(Py_None), T_PhpEnum,
                              (PyObject *)&PyList_Type, (PyObject *)&PyDict_Type};
        for (int i = 0; i < 8; i++)
            T_RowPlain[i] = plain[i];
    }
    return PyModule_Create(&moddef);
}
