"""EM query service (`GET /api/query`): filter parser, evaluation, sorting and paging.

The filter grammar is EM's: `field op value` with ops `== != < > <= >=`, `;` = AND (binds tighter),
`,` = OR, parentheses for grouping, values quoted (`"..."`, a quote inside doubled) or bare up to the next
`;`, `,` or `)`. Field names are case-insensitive, string comparisons too (EM runs on a case-insensitive SQL
collation), enumerations compare by declaration index and dates must be UTC.

The query types and their fields come from the registry (registry/): each row's `query` lists the fields,
including those EM filters on that are not in the entity (`JobName` on task sessions). URN fields take the
URN or the bare GUID. Without sortAsc/sortDesc results come in storage order (the dataset's order, which is
not time order), or in a fixed shuffle of it (`unsorted_order="shuffle"`); there is no default sort.

Speed matters (150,000 VmRestorePoints or task sessions must page in tens of milliseconds), so each type is
held as a `Table`: the items in storage order plus lazily built, cached column arrays (normalised values per
field), sort orders and equality indexes. A query then works on lists of row numbers: an equality on an
indexed field or a range on the sort field narrows the candidates first, the rest of the filter is a list
comprehension over the survivors, and nothing is re-parsed or re-rendered per request. When the dataset
changes under a running simulator (the `mutate` fault), `QueryService.invalidate()` drops the cached tables.

The package: filter.py (the grammar), request.py (the URL's query, pages, PagingInfo links), table.py (a type's
items and indexes), service.py (`QueryService`).
"""
