/**
 * The Korean label customers see for each order status, as the OrderStatusChanged schema documents
 * them. In the contracts, not in a context: the storefront shows them and tracking's timeline
 * names them, and both must say what the published schema says (status-labels.spec.ts checks it).
 */
import type { OrderStatus } from './generated';

export const orderStatusLabels = {
  REJECTED: '주문보류',
  WAITING_FOR_STOCK: '입고대기',
  RECEIVED: '주문접수',
  COOKING: '조리중',
  PICKED: '픽업완료',
  PACKED: '포장완료',
  SHIPPING: '배송중',
  DELIVERED: '배송완료',
  CANCELLED: '취소',
  FAILED: '실패',
} as const satisfies Record<Exclude<OrderStatus, 'UNKNOWN'>, string>;
