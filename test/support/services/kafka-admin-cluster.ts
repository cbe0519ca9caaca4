// How the Kafka integration tests begin: a fresh cluster, a kafkajs client on it and its admin,
// connected. A cluster whose admin cannot connect is destroyed at once: the caller has no handle on
// it yet to clean up.
import type { Admin, Kafka } from 'kafkajs';
import { startKafkaCluster, type KafkaCluster } from './kafka-cluster';

export async function startKafkaWithAdmin(
  clientId: string,
): Promise<{ cluster: KafkaCluster; kafka: Kafka; admin: Admin }> {
  const cluster = await startKafkaCluster();
  try {
    const kafka = cluster.client(clientId);
    const admin = kafka.admin();
    await admin.connect();
    return { cluster, kafka, admin };
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
}
