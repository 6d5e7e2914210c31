-- An order line: the order, the part and the supplier it was bought
-- from, with line_number as dependent child key. The line's own key is
-- (order_id, line_number), and a line never changes its part or
-- supplier, so the link's hash key is computed from that key alone: the
-- carrier, which knows only order and line number, can name it too.
with order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

order_lines_keyed as (

    select
        {{ vault_hash(['order_id', 'line_number']) }} as order_line_hk,
        {{ vault_hash(['order_id']) }} as order_hk,
        {{ vault_hash(['part_id']) }} as part_hk,
        {{ vault_hash(['supplier_id']) }} as supplier_hk,
        line_number,
        loaded_at as load_at,
        'erp.lineitem' as record_source
    from order_lines

),

{{ vault_link(
    ['order_lines_keyed'],
    'order_line_hk',
    ['order_hk', 'part_hk', 'supplier_hk'],
    ['line_number'],
) }}

select * from final
